"""Parse contract durations ("30m", "4h", "1h30m", "2d") and percent strings ("50%").

A day in a duration is a *service day*, not 24 hours: it is worth the longest daily service span of the
calendar the duration is counted in (24 h for 24x7, 10 h for mon-fri 08:00-18:00). So "1d" from Tuesday
10:00 on mon-fri 08:00-18:00 ends Wednesday 10:00, the same time on the next business day, and "1d" on a
24x7 calendar is exactly 24 hours. Hours, minutes and seconds are always wall-clock sized.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fernwart.collector.domain.errors import SpecError

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


@dataclass(frozen=True)
class Duration:
    """A contract duration: whole service days plus a number of seconds of service time."""

    days: int = 0
    seconds: int = 0

    def business_seconds(self, service_day_seconds: float) -> float:
        """Return the service time this duration stands for, a day being `service_day_seconds` long."""
        return self.days * service_day_seconds + self.seconds

    def __str__(self) -> str:
        parts = [f"{self.days}d"] if self.days else []
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        parts += [f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if v]
        return "".join(parts) or "0s"


def parse_duration(text: object) -> Duration:
    """Return the duration that `text` names, like "90s", "30m", "4h", "1h30m", "2d" or "1d4h".

    Units go from large to small, each at most once; whitespace around is ignored; "0m" is allowed.
    Raise SpecError for anything else: an empty string, a bare number, negative or fractional values,
    unknown units ("1w"), units out of order ("30m1h"), or a non-string.
    """
    if not isinstance(text, str):
        raise SpecError(f"expected a duration like '30m', '4h' or '1d', got {text!r}")
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise SpecError(f"bad duration {text!r}: expected units d, h, m, s in order, like '1h30m'")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return Duration(days=days, seconds=hours * 3600 + minutes * 60 + seconds)


def parse_share(text: object) -> float:
    """Return the share 0.0..1.0 that a percent string like "50%" or "12.5%" names.

    Raise SpecError for a missing percent sign, a value above 100% or a non-string (YAML numbers are
    refused here on purpose: "after: 50" could mean 50 % or 50 minutes).
    """
    if not isinstance(text, str):
        raise SpecError(f"expected a percentage like '50%', got {text!r}")
    match = _PERCENT.fullmatch(text.strip())
    if match is None:
        raise SpecError(f"bad percentage {text!r}: expected a number followed by '%', like '80%'")
    value = float(match.group(1))
    if not math.isfinite(value) or value > 100:
        raise SpecError(f"bad percentage {text!r}: must lie within 0% and 100%")
    return value / 100
