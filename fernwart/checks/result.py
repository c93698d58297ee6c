"""The outcome of one check run, shared by agent, wire format and collector."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.status import Status


@dataclass(frozen=True)
class CheckResult:
    """One check run: status, one-line summary, metrics as perfdata, optional long output.

    `observed_at` (UTC) is set by the runner when the check finished; checks themselves leave it None.
    """

    status: Status
    summary: str
    metrics: tuple[PerfDatum, ...] = ()
    long_output: str = ""
    observed_at: datetime | None = None
    duration: float = 0.0
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def stamped(self, observed_at: datetime, duration: float) -> CheckResult:
        """Return a copy carrying the runner's finish time (UTC) and duration in seconds."""
        if observed_at.tzinfo is None:
            raise ValueError("observed_at must be timezone-aware (UTC)")
        return CheckResult(
            self.status,
            self.summary,
            self.metrics,
            self.long_output,
            observed_at.astimezone(UTC),
            duration,
            self.extra,
        )

    def plugin_text(self) -> str:
        """Render as plugin output: ``STATUS - summary | perfdata`` plus long output."""
        perf = " ".join(m.to_text() for m in self.metrics)
        first = f"{self.status.name} - {self.summary}" + (f" | {perf}" if perf else "")
        return first + (f"\n{self.long_output}" if self.long_output else "")


def unknown(summary: str) -> CheckResult:
    """Return an UNKNOWN result with `summary`; the one shape for 'the check could not decide'."""
    return CheckResult(Status.UNKNOWN, summary)
