"""Enrollment tokens: a lifetime, a number of uses, a customer; listed and revoked from the CLI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fernwart.collector.cli import main
from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.services import auth
from fernwart.collector.services.errors import Conflict, NotFound, Unauthenticated
from tests.collector.helpers import T0


@pytest.fixture
def sessions(database_url: str) -> Any:
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


def enroll(sessions: Any, token: str, name: str, at: Any = T0) -> str:
    with sessions() as db:
        host_id = auth.enroll(db, token, name, "Linux", "test", at).host_id
        db.commit()
    return host_id


def test_a_token_lasts_24_hours_and_one_use_by_default(sessions: Any) -> None:
    with sessions() as db:
        late = auth.create_enrollment_token(db, T0, "Muster GmbH")
        once = auth.create_enrollment_token(db, T0, "Muster GmbH")
        db.commit()
    with pytest.raises(Unauthenticated, match="expired at 2026-11-23T10:00:00"):
        enroll(sessions, late, "web01", T0 + timedelta(hours=24))
    enroll(sessions, once, "web02", T0 + timedelta(hours=23))
    with pytest.raises(Unauthenticated, match="used up"):
        enroll(sessions, once, "web03", T0 + timedelta(hours=23))
    with pytest.raises(Unauthenticated, match="unknown"):
        enroll(sessions, "fwe_nobody", "web04")


def test_a_revoked_token_enrolls_nothing(sessions: Any) -> None:
    with sessions() as db:
        token = auth.create_enrollment_token(db, T0, "Muster GmbH", uses=5)
        db.commit()
        (view,) = auth.enrollment_tokens(db, T0)
        assert (view.state, view.uses, view.uses_left, view.customer) == ("active", 5, 5, "Muster GmbH")
        auth.revoke_enrollment_token(db, view.id, T0)
        db.commit()
        assert auth.enrollment_tokens(db, T0)[0].state == "revoked"
        with pytest.raises(NotFound):
            auth.revoke_enrollment_token(db, view.id + 100, T0)
    with pytest.raises(Unauthenticated, match="revoked"):
        enroll(sessions, token, "web01")


def test_cli_creates_lists_and_revokes(sqlite_template: Any, tmp_path: Any,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    assert main(["token", "create", "--database", url, "--customer", "Muster GmbH"]) == 2
    assert "no database at" in capsys.readouterr().err  # a fresh path is refused, not created silently
    assert main(["token", "create", "--database", url, "--customer", "Muster GmbH", "--create-database"]) == 0
    out = capsys.readouterr().out
    assert "customer Muster GmbH, valid for 1 day, 0:00:00, 1 use;" in out
    assert out.splitlines()[-1].startswith("fwe_")
    assert main(["token", "list", "--database", url]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].split()[:3] == ["1", "active", "1/1"] and listing[1].endswith("Muster GmbH")
    assert main(["token", "revoke", "--database", url, "1"]) == 0
    assert main(["token", "list", "--database", url]) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[:2] == ["1", "revoked"]
    assert main(["token", "revoke", "--database", url, "7"]) == 2
    assert "no such token" in capsys.readouterr().err


def test_a_valid_token_does_not_take_over_an_existing_host(sessions: Any) -> None:
    """Another token of the customer must not silently lock the real agent of web01 out."""
    with sessions() as db:
        first = auth.create_enrollment_token(db, T0, "Muster GmbH")
        second = auth.create_enrollment_token(db, T0, "Muster GmbH")
        db.commit()
    with sessions() as db:
        issued = auth.enroll(db, first, "web01", "Linux", "test", T0)
        db.commit()
    with sessions() as db, pytest.raises(Conflict, match="host web01 exists"):
        auth.enroll(db, second, "web01", "Linux", "test", T0)
    with sessions() as db, pytest.raises(Conflict, match="token create --replace web01"):
        auth.enroll(db, second, "web01", "Linux", "test", T0, replace=True)  # the agent alone cannot
    with sessions() as db:
        assert auth.host_for_token(db, issued.agent_token) is not None  # the real agent still reports


def test_replace_needs_the_agent_flag_and_a_token_made_for_that_host(sessions: Any) -> None:
    with sessions() as db:
        first = auth.create_enrollment_token(db, T0, "Muster GmbH")
        replacing = auth.create_enrollment_token(db, T0, "Muster GmbH", uses=2, replace_host="web01")
        db.commit()
    with sessions() as db:
        old = auth.enroll(db, first, "web01", "Linux", "test", T0)
        db.commit()
    with sessions() as db, pytest.raises(Conflict, match="--replace"):
        auth.enroll(db, replacing, "web01", "Linux", "test", T0)  # the technician alone cannot either
    with sessions() as db:
        new = auth.enroll(db, replacing, "web01", "Linux", "test", T0, replace=True)
        db.commit()
        assert new.host_id == old.host_id  # the host keeps its id and history
        assert auth.host_for_token(db, old.agent_token) is None


def test_cli_revokes_a_host(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    assert main(["migrate", "--database", url]) == 0
    assert main(["host", "revoke", "--database", url, "web01"]) == 2
    assert "host web01: no such host" in capsys.readouterr().err
    engine = make_engine(url)
    with session_factory(engine)() as db:
        token = auth.create_enrollment_token(db, T0, "Muster GmbH")
        auth.enroll(db, token, "web01", "Linux", "test", T0)
        db.commit()
    engine.dispose()
    assert main(["host", "revoke", "--database", url, "web01"]) == 0
    assert "host web01 revoked" in capsys.readouterr().out
