"""Check states, numbered exactly as the Monitoring Plugins exit codes."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Orders a check's outcome; the value is the Monitoring Plugins exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @classmethod
    def from_exit_code(cls, code: int) -> Status | None:
        """Return the status for a plugin exit code, or None for any code outside 0-3."""
        try:
            return cls(code)
        except ValueError:
            return None

    @classmethod
    def parse(cls, name: str) -> Status:
        """Return the status named `name` (case-insensitive); raise ValueError otherwise."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown status {name!r}; expected one of OK, WARNING, CRITICAL, UNKNOWN"
            ) from None


def worst(statuses: list[Status] | tuple[Status, ...]) -> Status:
    """Return the most severe status: CRITICAL > WARNING > UNKNOWN > OK, as Nagios ranks them.

    An empty list is OK.
    """
    rank = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}
    return max(statuses, key=lambda s: rank[s], default=Status.OK)
