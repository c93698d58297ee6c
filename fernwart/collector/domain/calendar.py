"""Service hours: a weekly schedule in a timezone, minus public holidays and extra closed dates.

Spec (the contract's `service_hours`)::

    24x7                                             # every second counts
    {mon-fri: "08:00-18:00", sat: "09:00-12:00", holidays: DE-RP}
    {mon-fri: "08:00-12:00, 13:00-17:00", closed: [2026-12-24, 2026-12-31]}
    {daily: "00:00-24:00", holidays: DE}             # 24x7 except public holidays

Day keys are names (mon..sun), ranges ("mon-fri", "fri-mon" wraps), lists ("mon,wed") or "daily". Spans are
local wall-clock times; "24:00" ends a span at midnight; a span never crosses midnight (write two). Spans of
one day given twice are united. Holidays come from the `holidays` package: "DE" or "DE-RP" (country and
subdivision); an unknown country or region is a SpecError.

All functions take and return timezone-aware datetimes (any zone in, UTC out) and work day by day in local
time, so DST changes, month ends and holidays fall out of the local calendar: a service day of 08:00-18:00
is ten real hours even on the day clocks change; a 24x7 day is 23 or 25 hours then.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from fernwart.collector.domain.errors import SpecError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 86400
Interval = tuple[datetime, datetime]
Spans = tuple[tuple[int, int], ...]

# A calendar whose weekly hours exist but are closed this many days in a row is considered broken.
_MAX_CLOSED_RUN = 3 * 366


def require_aware(at: datetime, name: str = "datetime") -> datetime:
    """Return `at` converted to UTC; raise ValueError for a naive datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def local_to_utc(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of local wall-clock time `seconds` after midnight of `day` in `zone`.

    Seconds may reach or pass 86400 (into the next days). A wall time skipped by DST maps as if the old
    offset still held (02:30 on the spring-forward night is 03:30 summer time); a wall time that occurs
    twice means its first occurrence.
    """
    extra_days, seconds = divmod(seconds, DAY_SECONDS)
    day += timedelta(days=extra_days)
    hours, rest = divmod(seconds, 3600)
    return datetime(day.year, day.month, day.day, hours, rest // 60, rest % 60, tzinfo=zone).astimezone(UTC)


def load_zone(name: object) -> ZoneInfo:
    """Return the IANA zone `name` (like "Europe/Berlin"); raise SpecError for an unknown one."""
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"expected a timezone name like 'Europe/Berlin', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(f"unknown timezone {name!r}") from None


def utc_text(at: datetime) -> str:
    """Return an instant as "2026-11-22 10:30:00 UTC": to the second, no microseconds, zone named."""
    return require_aware(at).strftime("%Y-%m-%d %H:%M:%S UTC")


def local_text(at: datetime, timezone: str) -> str:
    """Return an instant in `timezone` with the zone's abbreviation, and UTC after it unless that is the
    zone: "2026-11-22 11:30 CET (10:30 UTC)" (minutes: what people read in a message)."""
    zone = load_zone(timezone)
    local, utc = require_aware(at).astimezone(zone), require_aware(at)
    text = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    if local.tzname() == "UTC":
        return text
    return f"{text} ({utc:%H:%M} UTC)"


def parse_days(text: str) -> frozenset[int]:
    """Return the weekdays (Monday = 0) named by "mon", "mon-fri", "fri-mon", "mon,wed,fri" or "daily".

    Raise SpecError for an unknown day name or an empty item.
    """
    days: set[int] = set()
    for item in text.lower().replace(" ", "").split(","):
        if item in ("daily", "everyday"):
            days.update(range(7))
            continue
        first, _, last = item.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise SpecError(f"bad day {item!r} in {text!r}: expected mon..sun, a range (mon-fri) or daily")
        a = WEEKDAYS.index(first)
        b = WEEKDAYS.index(last) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def parse_clock(text: str, *, end: bool = False) -> int:
    """Return seconds after local midnight for "HH:MM"; "24:00" only when `end` is true."""
    hh, sep, mm = text.strip().partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and len(hh) <= 2):
        raise SpecError(f"bad time {text!r}: expected HH:MM")
    hours, minutes = int(hh), int(mm)
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise SpecError(f"bad time {text!r}: expected 00:00..23:59" + (" or 24:00" if end else ""))
    return hours * 3600 + minutes * 60


def parse_spans(value: object) -> Spans:
    """Return sorted, united (start, end) second spans from "08:00-12:00, 13:00-17:00" or a list of them.

    Raise SpecError when a span ends at or before its start (service hours do not cross midnight).
    """
    items = value if isinstance(value, list) else [value]
    spans: list[tuple[int, int]] = []
    for item in items:
        if not isinstance(item, str):
            raise SpecError(f"expected hours like '08:00-18:00', got {item!r}")
        for part in item.split(","):
            start_text, sep, end_text = part.partition("-")
            if not sep:
                raise SpecError(f"bad hours {part.strip()!r}: expected HH:MM-HH:MM")
            start, end = parse_clock(start_text), parse_clock(end_text, end=True)
            if end <= start:
                raise SpecError(
                    f"bad hours {part.strip()!r}: the end must be after the start (split spans at midnight)"
                )
            spans.append((start, end))
    return _unite(spans)


def parse_holiday_region(text: object) -> tuple[str, str | None]:
    """Return (country, subdivision or None) for "DE" or "DE-RP"; raise SpecError if `holidays` lacks it."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"expected a holiday region like 'DE' or 'DE-RP', got {text!r}")
    country, _, subdivision = text.strip().partition("-")
    _check_region(country, subdivision or None)
    return country, subdivision or None


def _check_region(country: str, subdivision: str | None) -> None:
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        region = f"{country}-{subdivision}" if subdivision else country
        raise SpecError(f"unknown holiday region {region!r}") from None


@dataclass(frozen=True)
class ServiceCalendar:
    """Weekly service hours in a timezone, closed on public holidays of a region and on extra dates.

    `weekly[d]` holds the spans of weekday d (Monday = 0) as seconds after local midnight.
    """

    timezone: str
    weekly: tuple[Spans, ...]
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _holiday_cache: dict[int, frozenset[date]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", load_zone(self.timezone))
        object.__setattr__(self, "_holiday_cache", {})
        if len(self.weekly) != 7:
            raise SpecError("weekly hours need exactly seven days")
        if not any(self.weekly):
            raise SpecError("service hours are empty: at least one day needs hours")
        if self.holiday_country is not None:
            _check_region(self.holiday_country, self.holiday_subdivision)

    @classmethod
    def always(cls, timezone: str = "UTC") -> ServiceCalendar:
        """Return the 24x7 calendar: every second counts, no holidays."""
        return cls(timezone, tuple(((0, DAY_SECONDS),) for _ in range(7)))

    @classmethod
    def parse(cls, spec: object, timezone: str) -> ServiceCalendar:
        """Return the calendar for a `service_hours` spec ("24x7" or a mapping, see the module docstring).

        Raise SpecError for unknown keys, bad days or times, or an unknown holiday region.
        """
        if isinstance(spec, str) and spec.strip().lower() == "24x7":
            return cls.always(timezone)
        if not isinstance(spec, Mapping):
            raise SpecError(f"expected '24x7' or a mapping like {{mon-fri: '08:00-18:00'}}, got {spec!r}")
        weekly: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        country: str | None = None
        subdivision: str | None = None
        closed: set[date] = set()
        for key, value in spec.items():
            if key == "holidays":
                country, subdivision = parse_holiday_region(value)
            elif key == "closed":
                closed.update(_parse_dates(value))
            elif isinstance(key, str):
                try:
                    days = parse_days(key)
                except SpecError:
                    raise SpecError(f"unknown key {key!r}: expected days, holidays or closed") from None
                spans = parse_spans(value)
                for day in days:
                    weekly[day].extend(spans)
            else:
                raise SpecError(f"unknown key {key!r}")
        joined = tuple(_unite(day) for day in weekly)
        return cls(timezone, joined, country, subdivision, frozenset(closed))

    @property
    def zone(self) -> ZoneInfo:
        """Return the calendar's timezone."""
        return self._zone

    @property
    def service_day_seconds(self) -> int:
        """Return the longest day's service time in seconds: what one "d" of a duration is worth."""
        return max(sum(end - start for start, end in day) for day in self.weekly)

    def is_closed(self, day: date) -> bool:
        """Return True when local date `day` is a public holiday or an extra closed date."""
        if day in self.closed_dates:
            return True
        if self.holiday_country is None:
            return False
        cached = self._holiday_cache.get(day.year)
        if cached is None:
            found = holidays.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=day.year
            )
            cached = frozenset(d for d in found if d.year == day.year)
            self._holiday_cache[day.year] = cached
        return day in cached

    def day_intervals(self, day: date) -> list[Interval]:
        """Return the UTC intervals of service time on local date `day` (empty on closed days).

        A span whose start does not exist (skipped by DST) starts at the instant the clock jumps to; a start
        or end that occurs twice (DST fall-back) means the first occurrence.
        """
        if self.is_closed(day):
            return []
        out: list[Interval] = []
        for start, end in self.weekly[day.weekday()]:
            a, b = self._to_utc(day, start), self._to_utc(day, end)
            if b > a:
                out.append((a, b))
        return out

    def _to_utc(self, day: date, seconds: int) -> datetime:
        return local_to_utc(day, seconds, self._zone)

    def _intervals_from(self, start: datetime) -> Iterator[Interval]:
        """Yield service intervals from `start` (UTC) on, clipped at start, day by day, without end.

        Intervals of consecutive days are not joined (a 24x7 calendar would never yield otherwise).
        """
        day = start.astimezone(self._zone).date()
        closed_run = 0
        while True:
            found = self.day_intervals(day)
            closed_run = 0 if found else closed_run + 1
            if closed_run > _MAX_CLOSED_RUN:
                raise ValueError(f"calendar has no service time for {_MAX_CLOSED_RUN} days after {day}")
            for a, b in found:
                if b > start:
                    yield max(a, start), b
            day += timedelta(days=1)

    def service_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Return the UTC intervals of service time within [start, end), sorted, adjacent ones joined.

        Empty when end <= start. A 24x7 calendar yields the single interval (start, end).
        """
        start, end = require_aware(start, "start"), require_aware(end, "end")
        out: list[Interval] = []
        if end <= start:
            return out
        last_day = end.astimezone(self._zone).date()
        day = start.astimezone(self._zone).date()
        while day <= last_day:
            for a, b in self.day_intervals(day):
                a, b = max(a, start), min(b, end)
                if b <= a:
                    continue
                if out and out[-1][1] == a:
                    out[-1] = (out[-1][0], b)
                else:
                    out.append((a, b))
            day += timedelta(days=1)
        return out

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """Return the service time between start and end (zero when end <= start), exact to the µs."""
        return sum((b - a for a, b in self.service_intervals(start, end)), timedelta())

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Return the seconds of service time between start and end; 0.0 when end <= start."""
        return self.business_time(start, end).total_seconds()

    def add_business_time(self, start: datetime, seconds: float | timedelta) -> datetime:
        """Return the earliest UTC instant at which `seconds` of service time have elapsed after `start`.

        A start outside service hours begins counting at the next opening; an amount that uses up a span
        exactly ends at that span's close (18:00), not at the next opening. Zero returns `start` itself (in
        UTC). Raise ValueError for a negative amount.
        """
        remaining = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        start = require_aware(start, "start")
        if remaining < timedelta():
            raise ValueError(f"cannot add negative service time ({remaining})")
        if not remaining:
            return start
        for a, b in self._intervals_from(start):
            if b - a >= remaining:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable: _intervals_from is endless")

    def next_opening(self, at: datetime) -> datetime:
        """Return `at` (UTC) when it lies in service hours, else the start of the next service interval."""
        return next(self._intervals_from(require_aware(at, "at")))[0]


def _unite(spans: list[tuple[int, int]]) -> Spans:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_dates(value: object) -> list[date]:
    items = value if isinstance(value, list) else [value]
    out: list[date] = []
    for item in items:
        if isinstance(item, date) and not isinstance(item, datetime):
            out.append(item)
        elif isinstance(item, str):
            try:
                out.append(date.fromisoformat(item.strip()))
            except ValueError:
                raise SpecError(f"bad closed date {item!r}: expected YYYY-MM-DD") from None
        else:
            raise SpecError(f"bad closed date {item!r}: expected YYYY-MM-DD")
    return out
