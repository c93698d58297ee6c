"""Fixture probes: every I/O member fails loudly unless a test supplies it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fernwart.checks.probe import CommandResult, Probe

NOW = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def _forbidden(name: str) -> Callable[..., Any]:
    def fail(*args: object, **kwargs: object) -> Any:
        raise AssertionError(f"unexpected I/O in a fixture test: {name}{args!r}")

    return fail


class Forbidden:
    """Stands in for psutil or an HTTP session: any attribute access fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected I/O in a fixture test: {name}")


def make_probe(tmp: Path | None = None, **members: Any) -> Probe:
    """Return a probe whose members are fixtures; anything not given fails when touched."""
    defaults: dict[str, Any] = {
        "timeout": 10.0, "state_dir": (tmp or Path("/nonexistent")) / "state",
        "psutil": Forbidden(), "processes": _forbidden("processes"), "run": _forbidden("run"),
        "now": lambda: NOW,
        "monotonic": _forbidden("monotonic"),
        "connect": _forbidden("connect"), "http": Forbidden(), "read_text": _forbidden("read_text"),
        "environ": {"PATH": "/usr/bin:/bin"}, "sleep": _forbidden("sleep"), "statvfs": _forbidden("statvfs"),
        "resolve": _forbidden("resolve"), "udp_exchange": _forbidden("udp_exchange"),
        "which": lambda name: None,
    }
    defaults.update(members)
    return Probe(**defaults)


class FakeRunner:
    """Records each argv and answers with canned results, keyed by the program's base name."""

    def __init__(self, answers: dict[str, CommandResult | Callable[[Sequence[str]], CommandResult]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []
        self.envs: list[object] = []

    def __call__(self, argv: Sequence[str], timeout: float, env: object = None) -> CommandResult:
        args = tuple(argv)
        self.calls.append(args)
        self.envs.append(env)
        answer = self.answers.get(Path(args[0]).name)
        if answer is None:
            return CommandResult(args, 127, "", f"{args[0]}: not found", start_error=f"{args[0]}: not found")
        return answer(args) if callable(answer) else answer


def done(stdout: str = "", returncode: int = 0, stderr: str = "", timed_out: bool = False) -> CommandResult:
    """Return a canned CommandResult."""
    return CommandResult(("fake",), returncode, stdout, stderr, timed_out)
