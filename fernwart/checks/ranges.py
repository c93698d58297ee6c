"""Threshold ranges in the Monitoring Plugins syntax: ``10``, ``10:``, ``~:10``, ``10:20``, ``@10:20``.

A range *alerts* when a value lies outside it (or inside it, with a leading ``@``). Ends are inclusive:
``10`` alerts for values below 0 or above 10; ``@10:20`` alerts for 10 <= value <= 20.

Numbers are what the guidelines allow, ``[-0-9.]`` in the C locale: an optional ``-``, digits, at most one
``.`` (``1.``, ``.5``, ``-0.25``). Python-only spellings (``1_0``, ``inf``, ``nan``, ``infinity``), a
``+`` sign, exponents (``1e3``), commas and non-ASCII digits are refused; ``~`` is negative infinity, and
only as the start. A range with neither a number nor ``~`` (a bare ``:`` or ``@:``) is refused, as
Monitoring::Plugin::Range refuses it: it reads as 0..infinity and would silently stop alerting. ``~:``
(spelled out: nothing alerts) stays allowed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

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
        """Parse a threshold; raise RangeError when malformed.

        A number (YAML's ``warning: 80``) is taken as the range 0..number, written in the grammar (never
        with an exponent); a bool, NaN or infinity is refused.
        """
        if isinstance(text, bool):
            raise RangeError(f"threshold {text!r} is not a range")
        if isinstance(text, float):
            if not math.isfinite(text):
                raise RangeError(f"threshold {text!r} is not a range")
            raw = number_text(text)
        else:
            raw = str(text).strip()
        body = raw
        inside = body.startswith("@")
        if inside:
            body = body[1:]
        if not body:
            raise RangeError(f"empty threshold {raw!r}")
        if body.strip() == ":":
            raise RangeError(f"threshold {raw!r} has no bound: write 0: or ~: if that is meant")
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


NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def is_number(text: str) -> bool:
    """Return True when `text` is a number as the guidelines spell it: ``[-0-9.]``, one ``.`` at most."""
    return NUMBER.fullmatch(text) is not None


def _number(part: str, raw: str) -> float:
    text = part.strip()
    if not is_number(text):
        raise RangeError(f"threshold {raw!r}: {text!r} is not a number")
    return float(text)


def number_text(value: float) -> str:
    """Return a finite `value` in the guidelines' spelling: shortest round trip, never an exponent."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    # repr is the shortest text that reads back as the same float; Decimal writes it out without exponent
    return format(Decimal(repr(value)), "f")



def _format(r: Range) -> str:
    start = "~" if r.start == -math.inf else number_text(r.start)
    end = "" if r.end == math.inf else number_text(r.end)
    text = end if start == "0" and end else f"{start}:{end}"
    return ("@" if r.inside else "") + text


def evaluate(value: float, warning: Range | None, critical: Range | None) -> Status:
    """Return CRITICAL, WARNING or OK for `value`, critical taking precedence, as check_* plugins do."""
    if critical is not None and critical.alerts(value):
        return Status.CRITICAL
    if warning is not None and warning.alerts(value):
        return Status.WARNING
    return Status.OK
