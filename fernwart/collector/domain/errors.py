"""The one exception the SLA domain raises for malformed specs (durations, hours, windows, scopes)."""

from __future__ import annotations


class SpecError(ValueError):
    """Reject a malformed spec string or mapping; the message says what was expected."""
