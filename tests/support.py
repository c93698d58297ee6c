"""Helpers shared by the test suite.

Tests that need a real component (PostgreSQL, monitoring-plugins, sshd, an SMTP server, Chromium) call
`require(...)`: on a developer's machine that lacks it the test skips with the reason; with
FERNWART_REQUIRE_REAL=1 (set by .ci/run) the same test fails, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REQUIRE_REAL = os.environ.get("FERNWART_REQUIRE_REAL") == "1"
REPO = Path(__file__).resolve().parent.parent


def require(available: bool, reason: str) -> None:
    """Skip the calling test when `available` is False, or fail it when FERNWART_REQUIRE_REAL=1."""
    if available:
        return
    if REQUIRE_REAL:
        pytest.fail(f"required component missing (FERNWART_REQUIRE_REAL=1): {reason}")
    pytest.skip(reason)


def require_executable(name: str, hint: str = "") -> str:
    """Return the path of executable `name`, or skip/fail as `require` does."""
    places = (Path("/usr/lib/nagios/plugins") / name, Path("/usr/sbin") / name)
    path = shutil.which(name) or next((str(p) for p in places if p.exists()), None)
    require(path is not None, f"{name} not installed{': ' + hint if hint else ''}")
    assert path is not None
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
