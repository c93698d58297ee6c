"""`fernwart-collector` as a new operator meets it: which database, which customer, which dependency."""

from __future__ import annotations

import getpass
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from fernwart.collector.cli import main
from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.models import ContractRevision, StoredContract

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contract.yaml"


def test_user_add_names_its_database_and_refuses_a_missing_one_or_an_unknown_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fw.sqlite'}"
    assert main(["user", "add", "alice", "--role", "admin", "--database", url]) == 2
    err = capsys.readouterr().err
    assert f"no database at {tmp_path / 'fw.sqlite'}" in err and "fernwart-collector migrate" in err
    assert not (tmp_path / "fw.sqlite").exists()  # nothing was created behind the operator's back

    assert main(["migrate", "--database", url]) == 0
    assert main(["user", "add", "alice", "--role", "admin", "--database", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert str(tmp_path / "fw.sqlite") in out[-2] and out[-1].startswith("fwu_")

    typo = ["--role", "level1", "--customer", "Typo Corp", "--database", url]
    assert main(["user", "add", "bob", *typo]) == 2
    err = capsys.readouterr().err
    assert "no customer 'Typo Corp'" in err and "--create-customer" in err
    assert main(["user", "add", "bob", *typo, "--create-customer"]) == 0
    capsys.readouterr()
    assert main(["user", "add", "carl", *typo]) == 0  # it exists now


def test_apply_records_who_applied_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'fw.sqlite'}"
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("LOGNAME", raising=False)
    assert main(["migrate", "--database", url]) == 0
    assert main(["apply", str(EXAMPLE), "--database", url]) == 0
    assert main(["apply", str(EXAMPLE), "--database", url, "--by", "alice"]) == 0
    engine = make_engine(url)
    with session_factory(engine)() as db:
        by = [row.applied_by for row in db.scalars(select(StoredContract))]
        first = db.scalars(select(ContractRevision.applied_by).where(ContractRevision.revision == 1)).all()
    engine.dispose()
    assert by and all(b == "cli:alice" for b in by)
    assert first and all(b == f"cli:{getpass.getuser()}" for b in first) and "unknown" not in first[0]


def test_an_agent_only_install_is_told_to_install_the_collector_extra(tmp_path: Path) -> None:
    # sqlalchemy blocked as if absent: what `pip install fernwart` (without [collector]) leaves
    code = (
        "import sys; sys.modules['sqlalchemy'] = None; from fernwart.collector.cli import main; "
        "sys.exit(main(['migrate']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2
    assert "pip install 'fernwart[collector]'" in done.stderr and "sqlalchemy" in done.stderr
    assert "Traceback" not in done.stderr
