"""What a playbook run leaves: each step's output, exit status, duration, truncation; the run's state."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class RunState(StrEnum):
    """The final states a run reports (the collector's job states of the same names)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    REFUSED = "refused"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class StepOutput:
    """One step's result; `exit_code` is None for steps that start no program."""

    name: str
    kind: str
    status: StepStatus
    output: str
    duration: float
    truncated: bool = False
    exit_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the step as the JSON the collector stores."""
        return asdict(self)


@dataclass(frozen=True)
class RunOutcome:
    """A whole run: its state, a one-line reason when it did not succeed, and every step's output."""

    state: RunState
    steps: tuple[StepOutput, ...]
    duration: float
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the run as the JSON the collector stores."""
        return {"state": self.state.value, "error": self.error, "duration": round(self.duration, 3),
                "steps": [s.to_dict() for s in self.steps]}


def clip(data: bytes, limit: int) -> tuple[str, bool]:
    """Return at most `limit` bytes of `data` as text, and whether anything was cut."""
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit
