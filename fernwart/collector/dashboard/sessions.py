"""Dashboard sign-in sessions: HMAC-signed, expiring cookies and CSRF tokens derived from them.

The cookie never holds the API token. It carries the user id, a random session id, when it was issued
and until when it is valid, and a binding to the user's stored token hash (keyed, so it reveals nothing),
all signed with the collector's secret. A session therefore ends when it expires, when the secret
changes, when the user's API token is replaced, or when the user signs out (sign-out records a
"not before" time per user, so it ends that user's sessions everywhere, not just in one browser).

The CSRF token of a form is an HMAC of the session id: it cannot be derived without the secret and
needs no server-side state. The sign-in form, which has no session yet, is protected by a
double-submit value: a random cookie whose HMAC the form must carry.

The secret comes from FERNWART_SECRET (at least 32 characters; set the same value on every collector
behind one load balancer) or from `dashboard.secret` under FERNWART_HOME, created 0600 on first use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

SECRET_FILE = "dashboard.secret"
SECRET_ENV = "FERNWART_SECRET"
LIFETIME = timedelta(hours=12)
_VERSION = "v1"


class SecretError(ValueError):
    """Raised when the configured dashboard secret cannot be used; the message names the source."""


def load_secret(home: Path, env: Mapping[str, str]) -> bytes:
    """Return the dashboard secret from `env` or from `home`/dashboard.secret, creating the file if absent.

    The file is written under a temporary name and linked into place, so collector processes racing
    on first start all end up with the one secret that won, and none reads a half-written file.
    """
    configured = env.get(SECRET_ENV, "")
    if configured:
        if len(configured) < 32:
            raise SecretError(f"{SECRET_ENV}: use at least 32 characters (e.g. `openssl rand -hex 32`)")
        return configured.encode()
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=home, prefix=".dashboard-secret-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process was first: use its secret
        finally:
            os.unlink(temporary)
    value = path.read_text().strip()
    if len(value) < 32:
        raise SecretError(f"{path}: the secret is shorter than 32 characters; delete the file to renew it")
    return value.encode()


@dataclass(frozen=True)
class SignedSession:
    """A verified dashboard session."""

    user_id: int
    session_id: str
    issued_at: datetime
    expires_at: datetime


def _same(given: str, expected: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII str, and a cookie or form field may hold anything.
    return hmac.compare_digest(given.encode(), expected.encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Signer:
    """Issues and verifies session cookies and CSRF tokens under one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, value: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}\0{value}".encode(), hashlib.sha256).digest())

    def binding(self, token_hash: str) -> str:
        """Return the keyed tie between a session and the user's current API token hash."""
        return self._mac("binding", token_hash)[:22]

    def bound(self, binding: str, token_hash: str) -> bool:
        """Return whether a session's `binding` still matches the user's API token hash."""
        return _same(binding, self.binding(token_hash))

    def issue(self, user_id: int, token_hash: str, now: datetime, lifetime: timedelta = LIFETIME) -> str:
        """Return a signed cookie value for a new session of `user_id`."""
        issued = int(now.timestamp() * 1000)  # milliseconds: a sign-in right after a sign-out stays valid
        expires = int((now + lifetime).timestamp() * 1000)
        session_id = secrets.token_urlsafe(16)
        body = f"{_VERSION}.{user_id}.{session_id}.{issued}.{expires}.{self.binding(token_hash)}"
        return f"{body}.{self._mac('session', body)}"

    def verify(self, cookie: str, now: datetime) -> tuple[SignedSession, str] | None:
        """Return the session in `cookie` and its token binding, or None if forged, malformed or expired."""
        body, _, mac = cookie.rpartition(".")
        if not body or not _same(mac, self._mac("session", body)):
            return None
        parts = body.split(".")
        if len(parts) != 6 or parts[0] != _VERSION:
            return None
        _, user_id, session_id, issued, expires, binding = parts
        if not (user_id.isdigit() and issued.isdigit() and expires.isdigit()):
            return None
        if int(expires) <= now.timestamp() * 1000:
            return None
        tz = now.tzinfo
        session = SignedSession(
            int(user_id),
            session_id,
            datetime.fromtimestamp(int(issued) / 1000, tz),
            datetime.fromtimestamp(int(expires) / 1000, tz),
        )
        return session, binding

    def csrf_token(self, session_id: str) -> str:
        """Return the CSRF token every state-changing form of this session must carry."""
        return self._mac("csrf", session_id)

    def csrf_valid(self, session_id: str, token: str) -> bool:
        """Return whether `token` is this session's CSRF token (compared in constant time)."""
        return bool(token) and _same(token, self.csrf_token(session_id))

    def login_nonce(self) -> tuple[str, str]:
        """Return a fresh (cookie value, form value) pair that protects the sign-in form."""
        nonce = secrets.token_urlsafe(16)
        return nonce, self._mac("login", nonce)

    def login_valid(self, nonce: str, form_value: str) -> bool:
        """Return whether the sign-in form's value matches the nonce cookie."""
        return bool(nonce) and bool(form_value) and _same(form_value, self._mac("login", nonce))
