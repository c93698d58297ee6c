"""Signed session cookies, CSRF tokens and the dashboard secret, without a server."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fernwart.collector.dashboard.sessions import SECRET_FILE, SecretError, Signer, load_secret

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SECRET = b"s" * 64
TOKEN_HASH = "ab" * 32


def test_a_cookie_verifies_until_it_expires() -> None:
    signer = Signer(SECRET)
    cookie = signer.issue(7, TOKEN_HASH, NOW, timedelta(hours=1))
    verified = signer.verify(cookie, NOW + timedelta(minutes=59))
    assert verified is not None
    session, binding = verified
    assert (session.user_id, session.issued_at, session.expires_at) == (7, NOW, NOW + timedelta(hours=1))
    assert signer.bound(binding, TOKEN_HASH)
    assert signer.verify(cookie, NOW + timedelta(hours=1)) is None


def test_the_cookie_holds_neither_the_token_nor_its_hash() -> None:
    cookie = Signer(SECRET).issue(7, TOKEN_HASH, NOW)
    assert TOKEN_HASH not in cookie and TOKEN_HASH[:8] not in cookie


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c.replace("v1.7.", "v1.1.", 1),  # another user
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # signature
        lambda c: c.rsplit(".", 1)[0],  # no signature
        lambda c: "",
        lambda c: "v1.7.x.1.99999999999999.b.ä",  # non-ASCII must not crash the comparison
    ],
)
def test_a_tampered_cookie_is_refused(tamper: Callable[[str], str]) -> None:
    signer = Signer(SECRET)
    cookie = signer.issue(7, TOKEN_HASH, NOW)
    assert signer.verify(tamper(cookie), NOW) is None


def test_another_secret_refuses_the_cookie() -> None:
    cookie = Signer(SECRET).issue(7, TOKEN_HASH, NOW)
    assert Signer(b"t" * 64).verify(cookie, NOW) is None


def test_a_replaced_api_token_unbinds_the_session() -> None:
    signer = Signer(SECRET)
    verified = signer.verify(signer.issue(7, TOKEN_HASH, NOW), NOW)
    assert verified is not None
    assert not signer.bound(verified[1], "cd" * 32)


def test_csrf_tokens_belong_to_one_session() -> None:
    signer = Signer(SECRET)
    token = signer.csrf_token("session-a")
    assert signer.csrf_valid("session-a", token)
    assert not signer.csrf_valid("session-b", token)
    assert not signer.csrf_valid("session-a", "")
    assert not signer.csrf_valid("session-a", "ä" + token[1:])


def test_the_login_nonce_must_match_its_form_value() -> None:
    signer = Signer(SECRET)
    nonce, form_value = signer.login_nonce()
    other_nonce, _ = signer.login_nonce()
    assert signer.login_valid(nonce, form_value)
    assert not signer.login_valid(other_nonce, form_value)
    assert not signer.login_valid("", "")


def test_the_secret_file_is_created_private_once_and_then_reused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = load_secret(home, {})
    mode = stat.S_IMODE((home / SECRET_FILE).stat().st_mode)
    assert mode == 0o600
    assert load_secret(home, {}) == first
    assert len(first) >= 32
    assert [p.name for p in home.iterdir()] == [SECRET_FILE]  # no temporary file left behind


def test_the_environment_secret_wins_and_must_be_long(tmp_path: Path) -> None:
    assert load_secret(tmp_path, {"FERNWART_SECRET": "x" * 40}) == b"x" * 40
    assert not (tmp_path / SECRET_FILE).exists()
    with pytest.raises(SecretError, match="FERNWART_SECRET"):
        load_secret(tmp_path, {"FERNWART_SECRET": "short"})


def test_a_truncated_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("abc\n")
    with pytest.raises(SecretError, match="shorter than 32"):
        load_secret(tmp_path, {})
