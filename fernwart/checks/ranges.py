"""Threshold ranges in the Monitoring Plugins syntax: ``10``, ``10:``, ``~:10``, ``10:20``, ``@10:20``.

A range *alerts* when a value lies outside it (or inside it, with a leading ``@``). Ends are inclusive:
``10`` alerts for values below 0 or above 10; ``@10:20`` alerts for 10 <= value <= 20.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fernwart.checks.status import Status


class RangeError(ValueError):
    """Raised for a threshold that is not in the Monitoring Plugins range syntax."""


@dataclass(frozen=True)
class Range:
    """One threshold range; `start`/`end` may be -inf/+inf."""

    start: float
    end: float
    inside: bool = False  # True for a leading '@': alert when the value is inside
    text: str = ""

    @classmethod
    def parse(cls, text: str | int | float) -> Range:
        """Parse a threshold; numbers are accepted as their text form. Raise RangeError when malformed."""
        raw = str(text).strip()
        body = raw
        inside = body.startswith("@")
        if inside:
            body = body[1:]
        if not body:
            raise RangeError(f"empty threshold {raw!r}")
        if ":" in body:
            left, _, right = body.partition(":")
            if ":" in right:
                raise RangeError(f"threshold {raw!r} has more than one ':'")
            start = -math.inf if left.strip() == "~" else (_number(left, raw) if left.strip() else 0.0)
            end = _number(right, raw) if right.strip() else math.inf
        else:
            start, end = 0.0, _number(body, raw)
        if start > end:
            raise RangeError(f"threshold {raw!r} starts above its end")
        return cls(start=start, end=end, inside=inside, text=raw)

    def alerts(self, value: float) -> bool:
        """Return True when `value` should raise an alert for this range."""
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        return self.text or _format(self)


def _number(part: str, raw: str) -> float:
    try:
        value = float(part.strip())
    except ValueError:
        raise RangeError(f"threshold {raw!r}: {part.strip()!r} is not a number") from None
    if math.isnan(value):
        raise RangeError(f"threshold {raw!r}: NaN is not a bound")
    return value


def _number_text(value: float) -> str:
    # repr, not :g, so that a formatted range parses back to exactly the same bounds
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _format(r: Range) -> str:
    start = "~" if r.start == -math.inf else _number_text(r.start)
    end = "" if r.end == math.inf else _number_text(r.end)
    text = end if start == "0" and end else f"{start}:{end}"
    return ("@" if r.inside else "") + text


def evaluate(value: float, warning: Range | None, critical: Range | None) -> Status:
    """Return CRITICAL, WARNING or OK for `value`, critical taking precedence, as check_* plugins do."""
    if critical is not None and critical.alerts(value):
        return Status.CRITICAL
    if warning is not None and warning.alerts(value):
        return Status.WARNING
    return Status.OK
