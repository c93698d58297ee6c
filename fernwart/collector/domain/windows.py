"""Maintenance windows: one-off or recurring periods in a timezone, scoped to all hosts, a host or a check.

Contract spec::

    {name: patch night, every: "sun 02:00-04:00", scope: all}
    {name: backups, every: "mon,wed 22:00-02:00", scope: "host:db*"}        # crosses midnight
    {name: rotate, every: "daily 01:00-01:30", scope: "check:logrotate"}
    {name: ERP upgrade, from: "2026-12-05T18:00", to: "2026-12-06T06:00", scope: "host:erp01"}
    {name: move, from: "2026-12-05T18:00+01:00", to: "2026-12-05T20:00Z", sla_relevant: true}

One-off times without an offset are wall-clock times in the window's timezone. Recurring windows are wall
clock too: a window that begins inside the hour skipped by DST starts when the clock jumps (so
"sun 02:00-04:00" on the spring-forward night lasts one real hour, and three on the fall-back night,
02:00 meaning its first occurrence). Scopes: "all", "host:NAME", "check:NAME", "host:NAME/check:NAME";
names are glob patterns (fnmatch, case-sensitive). A "check:" scope does not cover host reachability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from fernwart.collector.domain.calendar import (
    DAY_SECONDS,
    Interval,
    load_zone,
    local_to_utc,
    parse_clock,
    parse_days,
    require_aware,
)
from fernwart.collector.domain.errors import SpecError
from fernwart.protocol import HOST_CHECK

_SCOPE_FORMS = "expected all, host:NAME, check:NAME or host:NAME/check:NAME"
WINDOW_KEYS = frozenset({"name", "every", "from", "to", "scope", "sla_relevant", "reason"})


@dataclass(frozen=True)
class Scope:
    """What a window covers: host and check name patterns, None meaning any."""

    host: str | None = None
    check: str | None = None

    @classmethod
    def parse(cls, text: object) -> Scope:
        """Return the scope for "all", "host:NAME", "check:NAME" or "host:NAME/check:NAME".

        Raise SpecError for anything else, including empty names.
        """
        if not isinstance(text, str):
            raise SpecError(f"expected a scope like 'all' or 'host:NAME', got {text!r}")
        text = text.strip()
        if text == "all":
            return cls()
        host: str | None = None
        check: str | None = None
        for part in text.split("/"):
            kind, sep, name = part.partition(":")
            name = name.strip()
            if not sep or not name:
                raise SpecError(f"bad scope {text!r}: {_SCOPE_FORMS}")
            if kind.strip() == "host" and host is None and check is None:
                host = name
            elif kind.strip() == "check" and check is None:
                check = name
            else:
                raise SpecError(f"bad scope {text!r}: {_SCOPE_FORMS}")
        return cls(host, check)

    def matches(self, host: str, check: str) -> bool:
        """Return True when the scope covers `check` on `host` (HOST_CHECK: the host's reachability)."""
        if self.host is not None and not fnmatchcase(host, self.host):
            return False
        if self.check is None:
            return True
        return check != HOST_CHECK and fnmatchcase(check, self.check)

    def __str__(self) -> str:
        parts = ([f"host:{self.host}"] if self.host else []) + ([f"check:{self.check}"] if self.check else [])
        return "/".join(parts) or "all"


@dataclass(frozen=True)
class Recurrence:
    """Weekly recurring local times: starting on `days` (Monday = 0) at `start`, ending at `end` seconds.

    An end at or before the start means the window ends on the following day.
    """

    days: frozenset[int]
    start: int
    end: int

    @classmethod
    def parse(cls, text: object) -> Recurrence:
        """Return the recurrence for "sun 02:00-04:00", "mon,wed 22:00-02:00" or "daily 01:00-01:30".

        Raise SpecError for bad days or times, or a window whose start equals its end (ambiguous).
        """
        if not isinstance(text, str):
            raise SpecError(f"expected a recurrence like 'sun 02:00-04:00', got {text!r}")
        days_text, _, hours = text.strip().rpartition(" ")
        start_text, sep, end_text = hours.partition("-")
        if not days_text.strip() or not sep:
            raise SpecError(f"bad recurrence {text!r}: expected DAYS HH:MM-HH:MM like 'sun 02:00-04:00'")
        start, end = parse_clock(start_text), parse_clock(end_text, end=True)
        if start == end % DAY_SECONDS and end != DAY_SECONDS:
            raise SpecError(f"bad recurrence {text!r}: start and end are equal")
        return cls(parse_days(days_text.strip()), start, end)

    @property
    def length(self) -> int:
        """Return the wall-clock length in seconds (up to 24 hours)."""
        return self.end - self.start if self.end > self.start else self.end + DAY_SECONDS - self.start


@dataclass(frozen=True)
class MaintenanceWindow:
    """A named maintenance window: one-off (`starts_at`, `ends_at`, UTC) or recurring (`every`).

    Outside SLA windows (`sla_relevant` false, the default) are excluded from availability; inside any
    window no ticket is opened for the scope and no one is paged.
    """

    name: str
    timezone: str
    scope: Scope = field(default_factory=Scope)
    sla_relevant: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    every: Recurrence | None = None
    reason: str = ""
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", load_zone(self.timezone))
        one_off = self.starts_at is not None or self.ends_at is not None
        if one_off == (self.every is not None):
            raise SpecError("a window needs either 'every' or both 'from' and 'to'")
        if one_off:
            if self.starts_at is None or self.ends_at is None:
                raise SpecError("a one-off window needs both 'from' and 'to'")
            object.__setattr__(self, "starts_at", require_aware(self.starts_at, "from"))
            object.__setattr__(self, "ends_at", require_aware(self.ends_at, "to"))
            if self.ends_at <= self.starts_at:  # an empty window is refused too
                ends, starts = self.ends_at.astimezone(self._zone), self.starts_at.astimezone(self._zone)
                raise SpecError(
                    f"window ends ({ends:%Y-%m-%d %H:%M %Z}) before it starts ({starts:%Y-%m-%d %H:%M %Z})"
                )

    @classmethod
    def parse(cls, spec: object, timezone: str) -> MaintenanceWindow:
        """Return the window for a contract mapping (see the module docstring), times in `timezone`.

        Raise SpecError for unknown keys, a missing name, bad times, or a window ending before it starts.
        """
        if not isinstance(spec, Mapping):
            raise SpecError(f"expected a mapping with name and every or from/to, got {spec!r}")
        unknown = sorted(str(k) for k in spec if k not in WINDOW_KEYS)
        if unknown:
            raise SpecError(f"unknown key {unknown[0]!r}; expected {', '.join(sorted(WINDOW_KEYS))}")
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SpecError("a window needs a name")
        relevant = spec.get("sla_relevant", False)
        if not isinstance(relevant, bool):
            raise SpecError(f"sla_relevant must be true or false, got {relevant!r}")
        zone = load_zone(timezone)
        every = Recurrence.parse(spec["every"]) if "every" in spec else None
        starts = parse_instant(spec["from"], zone) if "from" in spec else None
        ends = parse_instant(spec["to"], zone) if "to" in spec else None
        return cls(
            name,
            timezone,
            Scope.parse(spec.get("scope", "all")),
            relevant,
            starts,
            ends,
            every,
            str(spec.get("reason", "")),
        )

    def occurrences(self, start: datetime, end: datetime) -> list[Interval]:
        """Return the UTC intervals the window is open within [start, end), clipped, sorted, joined.

        Ignores the scope. Empty when end <= start.
        """
        start, end = require_aware(start, "start"), require_aware(end, "end")
        if self.every is None:
            assert self.starts_at is not None and self.ends_at is not None
            a, b = max(self.starts_at, start), min(self.ends_at, end)
            return [(a, b)] if b > a else []
        out: list[Interval] = []
        every = self.every
        day = start.astimezone(self._zone).date() - timedelta(days=1)
        last: date = end.astimezone(self._zone).date()
        while day <= last:
            if day.weekday() in every.days:
                a = local_to_utc(day, every.start, self._zone)
                b = local_to_utc(day, every.start + every.length, self._zone)
                a, b = max(a, start), min(b, end)
                if b > a:
                    if out and out[-1][1] >= a:
                        out[-1] = (out[-1][0], max(b, out[-1][1]))
                    else:
                        out.append((a, b))
            day += timedelta(days=1)
        return out

    def covers(self, host: str, check: str, at: datetime) -> bool:
        """Return True when the window is open at `at` and its scope covers `check` on `host`.

        `check` HOST_CHECK means the host's reachability. The window is half-open: its end is outside.
        """
        if not self.scope.matches(host, check):
            return False
        at = require_aware(at, "at")
        return bool(self.occurrences(at, at + timedelta(microseconds=1)))


def covering(
    windows: Sequence[MaintenanceWindow], host: str, check: str, at: datetime
) -> MaintenanceWindow | None:
    """Return the first of `windows` that covers `check` on `host` at `at`, or None."""
    return next((w for w in windows if w.covers(host, check, at)), None)


def parse_instant(value: object, zone: ZoneInfo) -> datetime:
    """Return the UTC instant for "2026-12-05T18:00" (wall clock in `zone`) or a string with an offset.

    YAML datetimes and dates (midnight) are accepted too; raise SpecError for anything else.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(f"bad time {value!r}: expected ISO 8601 like 2026-12-05T18:00") from None
    else:
        raise SpecError(f"bad time {value!r}: expected ISO 8601 like 2026-12-05T18:00")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
