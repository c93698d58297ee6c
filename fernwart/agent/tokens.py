"""The agent's own token: rotated every `token_max_age`, and picked up again when the file changes.

Rotation asks ``POST /api/v1/agent/rotate`` with the current token and writes the answer to the token file
(0600, atomically). The collector keeps the old token valid until the new one is first used, so a report
in flight, or an answer that never arrived, loses nothing. `fernwart-agent rotate` rotates by hand; the
running agent notices the file's new mtime before its next round and uses the new token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from fernwart.agent.enroll import write_private
from fernwart.agent.transport import CollectorError, CollectorLink

ROTATE_PATH = "/api/v1/agent/rotate"
log = logging.getLogger(__name__)


class RotateError(Exception):
    """Raised when the collector's answer to a rotation carries no token."""


def rotate(link: CollectorLink, token_file: Path) -> str:
    """Rotate the token `link` uses now, write the new one to `token_file` and switch `link` to it.

    Raises CollectorError subclasses (nothing is written then) or RotateError.
    """
    answer = link.post_json(ROTATE_PATH, {})
    token = answer.get("agent_token")
    if not isinstance(token, str) or not token.startswith("fwa_"):
        raise RotateError(f"collector answered a rotation without an agent token: {answer!r}")
    write_private(token_file, token + "\n")
    link.set_token(token)
    return token


class TokenKeeper:
    """Called before each sender round: reloads a changed token file, rotates a token past `max_age`."""

    def __init__(
        self, token_file: Path, link: CollectorLink, max_age: timedelta, now: Callable[[], datetime],
    ) -> None:
        self.token_file = token_file
        self.link = link
        self.max_age = max_age
        self._now = now
        self._mtime = self._stat()
        self._failed_at: datetime | None = None

    def __call__(self) -> None:
        """Reload or rotate as due; collector trouble is logged and retried an hour later."""
        mtime = self._stat()
        if mtime is not None and mtime != self._mtime:
            token = self.token_file.read_text(encoding="utf-8").strip()
            if token:
                self.link.set_token(token)
                log.info("token file changed; using the new agent token")
            self._mtime = mtime
        if mtime is None:
            return
        now = self._now()
        issued = datetime.fromtimestamp(mtime, now.tzinfo)
        if now - issued < self.max_age:
            return
        if self._failed_at is not None and now - self._failed_at < timedelta(hours=1):
            return
        try:
            rotate(self.link, self.token_file)
        except (CollectorError, RotateError, OSError) as exc:
            self._failed_at = now
            log.warning("could not rotate the agent token (older than %s): %s; trying again in an hour",
                        self.max_age, exc)
            return
        self._mtime = self._stat()
        log.info("rotated the agent token (it was older than %s)", self.max_age)

    def _stat(self) -> float | None:
        try:
            return self.token_file.stat().st_mtime
        except OSError:
            return None
