"""Small builders shared by the agent tests."""

from __future__ import annotations

from datetime import UTC, datetime

from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status

T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def stamped(status: Status = Status.OK, summary: str = "fine", at: datetime = T0) -> CheckResult:
    """Return a result as the runner would hand it to the outbox."""
    return CheckResult(status, summary).stamped(at, 0.01)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
