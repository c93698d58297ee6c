"""Availability against a contract, computed from stored state changes by interval arithmetic.

Input: per host, per counted object ("host" is the host's reachability, any other name a check) its state
changes sorted by time. An object holds a status from one change to the next; before its first change it
has no data. A change at exactly `start` sets the status for the whole period from start on. Per host,
`silences` lists the spans in which the host was stale and no real result covers the time: its checks
(not the `host` pseudo-check, which is UNREACHABLE then) are in no data there, whatever they showed last.

Time in [start, end) falls into exactly one bucket per object:
- outside service hours (the contract's calendar; None means 24x7),
- excluded by a maintenance window covering the object (windows with `sla_relevant: true` do not exclude),
- excluded as no data (when `no_data` is "exclude"; with "down" no data is downtime),
- counted: up (OK; WARNING when `warning_counts_as` is "up") or down (CRITICAL, UNKNOWN, WARNING when it
  counts as down, no data when it counts as down).

Figures, as ITIL's agreed service time and Zabbix's SLA report define them: excluded time (maintenance,
outside service hours, no data when excluded) leaves the measured total, so
SLI = 100 * (counted - down) / counted and the error budget left is
floor(counted * (1 - target/100)) - down in whole seconds (downtime rounded up: a started second of
downtime is spent), negative once breached. With no counted time the SLI is None (no statement possible),
the error budget 0 and the target neither met nor missed. A window laid over an outage removes downtime
and counted time alike, so it never lowers the SLI; a window over healthy time can lower it (9 h up of
10 h is 90 %; exclude 5 up hours and it is 4 of 5, 80 %), as in the references.

Budget of the whole period (as Zabbix reports it): while a period is still running, the figures above are
taken on the time measured so far, and a budget taken on that ("2 s left" on the month's second day) says
little. With `planned_end` the period runs on to it: its remaining service time, less the maintenance windows
already scheduled there, is planned counted time (assumed to have data), the period's budget is
floor((counted + planned) * (1 - target/100)), the budget spent is the downtime so far (rounded up), and
what is left is the difference. For a finished period the period budget is the measured one.

The contract option `maintenance_counts_as: up` (not the default) keeps the older rule instead: time in a
maintenance window stays in the total as time the contract was kept, SLI = (counted + maintenance - down)
/ (counted + maintenance), and the budget is taken on that total.

Aggregation: a host is down while any of its counted objects is down, and counted while any of its objects
is counted (so a check-scoped window excludes only that check, a host-scoped window the whole host). The
customer sums over hosts: SLI = sum of host uptime / sum of host counted time.

Outages are the counted downtime intervals, joined where they touch; an outage running through the night on
a business-hours calendar shows up as one outage per service day. Each carries its worst status.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from fractions import Fraction

from fernwart.checks.status import Status
from fernwart.collector.domain import intervals
from fernwart.collector.domain.calendar import ServiceCalendar, load_zone, require_aware
from fernwart.collector.domain.windows import MaintenanceWindow
from fernwart.protocol import HOST_CHECK

NO_DATA = None
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_UP, _DOWN, _EXCLUDED = 0, 1, 2
_RANK: dict[Status | None, int] = {
    None: 0,
    Status.OK: 0,
    Status.UNKNOWN: 1,
    Status.WARNING: 2,
    Status.CRITICAL: 3,
}


@dataclass(frozen=True, slots=True)
class StatusSince:
    """From `at` on, the object has `status`; None (NO_DATA) means nothing is known."""

    at: datetime
    status: Status | None


@dataclass(frozen=True)
class AvailabilityRules:
    """What counts: `counts` lists "host" and "check:PATTERN" (glob); `target` is a percent or None.

    `maintenance_counts_as_up` keeps maintenance time in the total as kept time (the rule of Fernwart
    0.1, the contract's `maintenance_counts_as: up`); by default it leaves the total like all excluded time.
    """

    target: float | None = None
    counts: tuple[str, ...] = (HOST_CHECK,)
    warning_counts_as_down: bool = False
    no_data_counts_as_down: bool = False
    maintenance_counts_as_up: bool = False

    def counts_object(self, name: str) -> bool:
        """Return True when the object `name` ("host" or a check name) counts towards availability."""
        if name == HOST_CHECK:
            return HOST_CHECK in self.counts
        return any(c.startswith("check:") and fnmatchcase(name, c[6:]) for c in self.counts)


@dataclass(frozen=True)
class Figures:
    """Availability figures of one object, host or customer over a period; seconds are real seconds.

    `counted_seconds` is the measured total (excluded time left out); the error budget is whole seconds.
    """

    counted_seconds: float
    downtime_seconds: float
    maintenance_seconds: float
    no_data_seconds: float
    outside_hours_seconds: float
    target: float | None
    sli: float | None
    error_budget_seconds: int | None
    planned_seconds: float = 0.0
    period_budget_seconds: int | None = None
    budget_spent_seconds: int = 0

    @property
    def period_budget_left_seconds(self) -> int | None:
        """Return the whole period's budget less what is spent so far; None without a target."""
        if self.period_budget_seconds is None:
            return None
        return self.period_budget_seconds - self.budget_spent_seconds

    @property
    def excluded_seconds(self) -> float:
        """Return all time not counted: maintenance, no data and outside service hours."""
        return self.maintenance_seconds + self.no_data_seconds + self.outside_hours_seconds

    @property
    def met(self) -> bool | None:
        """Return whether the SLI reaches the target; None without a target or without counted time."""
        if self.sli is None or self.target is None:
            return None
        return self.sli >= self.target


@dataclass(frozen=True)
class Outage:
    """A stretch of counted downtime on a host, the objects down during it and the worst status seen."""

    host: str
    objects: tuple[str, ...]
    start: datetime
    end: datetime
    worst: Status | None

    @property
    def seconds(self) -> float:
        """Return the outage's length."""
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class ObjectAvailability:
    """Figures and outages of one counted object on one host."""

    host: str
    name: str
    figures: Figures
    outages: tuple[Outage, ...]


@dataclass(frozen=True)
class HostAvailability:
    """Figures and outages of one host, with its counted objects."""

    host: str
    figures: Figures
    objects: tuple[ObjectAvailability, ...]
    outages: tuple[Outage, ...]


@dataclass(frozen=True)
class AvailabilityReport:
    """A customer's availability over [start, end): totals, hosts (by name) and all outages by start."""

    start: datetime
    end: datetime
    figures: Figures
    hosts: tuple[HostAvailability, ...]
    outages: tuple[Outage, ...]


@dataclass
class _Tally:
    counted: int = 0
    down: int = 0
    maintenance: int = 0
    no_data: int = 0
    outside: int = 0
    planned: int = 0  # counted time planned after the measured end (maintenance included when it counts)

    def add(self, other: _Tally) -> None:
        self.counted += other.counted
        self.down += other.down
        self.maintenance += other.maintenance
        self.no_data += other.no_data
        self.outside += other.outside
        self.planned += other.planned

    def figures(self, rules: AvailabilityRules) -> Figures:
        target = rules.target
        total = self.counted + (self.maintenance if rules.maintenance_counts_as_up else 0)
        sli = 100.0 * (total - self.down) / total if total else None
        return Figures(
            self.counted / 1e6,
            self.down / 1e6,
            self.maintenance / 1e6,
            self.no_data / 1e6,
            self.outside / 1e6,
            target,
            sli,
            None if target is None else error_budget(total, self.down, target),
            self.planned / 1e6,
            None if target is None else error_budget(total + self.planned, 0, target),
            -(-self.down // 10**6),
        )


def silence_allowed(stale_after_seconds: int | None, heartbeat_interval: int) -> timedelta:
    """Return how long a host may stay silent: its own `stale_after`, else three heartbeat intervals."""
    return timedelta(seconds=stale_after_seconds or 3 * max(1, heartbeat_interval))


def error_budget(counted_us: int, down_us: int, target: float) -> int:
    """Return floor(counted * (1 - target/100)) - down in whole seconds, downtime rounded up.

    The target is taken as the decimal it is written as (99.9 is exactly 999/10), so a budget of whole
    seconds is never lost to binary rounding; a started second of downtime is spent.
    """
    allowed = Fraction(counted_us, 10**6) * (100 - Fraction(repr(target))) / 100
    return int(allowed.__floor__()) - -(-down_us // 10**6)


def month_period(month: str, timezone: str) -> tuple[datetime, datetime]:
    """Return the UTC bounds [start, end) of calendar month "YYYY-MM" in `timezone` (local midnights)."""
    year_text, _, month_text = month.partition("-")
    try:
        year, number = int(year_text), int(month_text)
        first = datetime(year, number, 1, tzinfo=load_zone(timezone))
    except ValueError:
        raise ValueError(f"bad month {month!r}: expected YYYY-MM") from None
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=first.tzinfo)
    return first.astimezone(UTC), following.astimezone(UTC)


def availability_report(
    histories: Mapping[str, Mapping[str, Sequence[StatusSince]]],
    start: datetime,
    end: datetime,
    rules: AvailabilityRules,
    calendar: ServiceCalendar | None = None,
    windows: Sequence[MaintenanceWindow] = (),
    silences: Mapping[str, Sequence[tuple[datetime, datetime]]] | None = None,
    planned_end: datetime | None = None,
) -> AvailabilityReport:
    """Return the availability of a customer's hosts over [start, end) per object, host and in total.

    `histories` maps host name -> object name -> state changes sorted by `at`; objects the rules do not
    count are ignored, a host without counted objects is left out. `calendar` None means 24x7.
    `silences` maps host name -> [from, to) spans (any order, may overlap) in which the host's checks are
    in no data; the `host` pseudo-check keeps its own history there. Raise ValueError when end <= start
    or a history is out of order within the period. `planned_end` (after `end`) is where the period
    really ends: its service time after `end`, less scheduled windows, is planned (see the module text).
    """
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if end <= start:
        raise ValueError(f"empty period: end {end} is not after start {start}")
    s_us, e_us = _us(start), _us(end)
    service = (
        [(s_us, e_us)]
        if calendar is None
        else [(_us(a), _us(b)) for a, b in calendar.service_intervals(start, end)]
    )
    outside = (e_us - s_us) - intervals.total(service)
    excluding = [w for w in windows if not w.sla_relevant]
    occurrences = [[(_us(a), _us(b)) for a, b in w.occurrences(start, end)] for w in excluding]
    # Most objects share the same set of covering windows, so their counted base is computed once per set.
    bases: dict[tuple[int, ...], tuple[list[intervals.Span], list[intervals.Span]]] = {}
    plan = _Plan(end, planned_end, calendar, excluding, rules.maintenance_counts_as_up)
    classes = _classes(rules)
    total = _Tally()
    hosts: list[HostAvailability] = []
    for host in sorted(histories):
        silent = intervals.intersect(
            [(s_us, e_us)], intervals.union([(_us(a), _us(b)) for a, b in (silences or {}).get(host, ())])
        )
        objects: list[ObjectAvailability] = []
        host_counted: list[list[intervals.Span]] = []
        host_down: list[tuple[int, int, Status | None, str]] = []
        host_maintenance: list[list[intervals.Span]] = []
        host_plan: list[int] = []
        for name in sorted(histories[host]):
            if not rules.counts_object(name):
                continue
            host_plan.append(plan.key(host, name))
            key = tuple(i for i, w in enumerate(excluding) if occurrences[i] and w.scope.matches(host, name))
            if key not in bases:
                maintenance = intervals.intersect(service, intervals.union(*(occurrences[i] for i in key)))
                bases[key] = (intervals.subtract(service, maintenance), maintenance)
            base, maintenance = bases[key]
            segments = _segments(histories[host][name], start, end, s_us, e_us, host, name)
            if silent and name != HOST_CHECK:
                segments = _silenced(segments, silent)
            counted, down = _count(segments, base, classes)
            tally = _Tally(
                intervals.total(counted),
                sum(b - a for a, b, _ in down),
                intervals.total(maintenance),
                intervals.total(base) - intervals.total(counted),
                outside,
                plan.planned((host_plan[-1],)),
            )
            outages = _outages(host, [(a, b, st, name) for a, b, st in down])
            objects.append(ObjectAvailability(host, name, tally.figures(rules), outages))
            host_counted.append(counted)
            host_down.extend((a, b, st, name) for a, b, st in down)
            host_maintenance.append(maintenance)
        if not objects:
            continue
        counted_all = intervals.union(*host_counted)
        down_all = intervals.union([(a, b) for a, b, _, _ in host_down])
        uncounted = intervals.subtract(service, counted_all)
        maintenance_all = intervals.total(intervals.intersect(uncounted, intervals.union(*host_maintenance)))
        tally = _Tally(
            intervals.total(counted_all),
            intervals.total(down_all),
            maintenance_all,
            intervals.total(uncounted) - maintenance_all,
            outside,
            plan.planned(tuple(host_plan)),
        )
        total.add(tally)
        figures = tally.figures(rules)
        hosts.append(HostAvailability(host, figures, tuple(objects), _outages(host, host_down)))
    everything = sorted((o for h in hosts for o in h.outages), key=lambda o: (o.start, o.host))
    return AvailabilityReport(start, end, total.figures(rules), tuple(hosts), tuple(everything))


class _Plan:
    """The planned counted time after the measured end: service time less the scheduled windows.

    Objects are keyed by the set of windows covering them; a host's planned time is the union over its
    counted objects (it is counted while any object is), with maintenance added when it counts as up.
    """

    def __init__(
        self,
        end: datetime,
        planned_end: datetime | None,
        calendar: ServiceCalendar | None,
        windows: Sequence[MaintenanceWindow],
        maintenance_counts: bool,
    ) -> None:
        self.windows = windows if planned_end is not None and planned_end > end else ()
        self.maintenance_counts = maintenance_counts
        self.service: list[intervals.Span] = []
        self.occurrences: list[list[intervals.Span]] = []
        if planned_end is not None and planned_end > end:
            self.service = (
                [(_us(end), _us(planned_end))]
                if calendar is None
                else [(_us(a), _us(b)) for a, b in calendar.service_intervals(end, planned_end)]
            )
            self.occurrences = [
                [(_us(a), _us(b)) for a, b in w.occurrences(end, planned_end)] for w in windows
            ]
        self.keys: dict[tuple[int, ...], int] = {}
        self.sets: list[tuple[int, ...]] = []
        self.cache: dict[tuple[int, ...], int] = {}

    def key(self, host: str, name: str) -> int:
        """Return the index of the set of windows covering `host`/`name` in the planned time."""
        found = tuple(
            i for i, w in enumerate(self.windows) if self.occurrences[i] and w.scope.matches(host, name)
        )
        if found not in self.keys:
            self.keys[found] = len(self.sets)
            self.sets.append(found)
        return self.keys[found]

    def planned(self, keys: tuple[int, ...]) -> int:
        """Return the planned counted microseconds of a host (or object) whose objects have `keys`."""
        if not self.service or not keys:
            return 0
        keys = tuple(sorted(set(keys)))
        if keys not in self.cache:
            kept: list[list[intervals.Span]] = []
            for k in keys:
                covered = intervals.union(*(self.occurrences[i] for i in self.sets[k]))
                kept.append(intervals.subtract(self.service, covered))
            counted = intervals.total(intervals.union(*kept))
            self.cache[keys] = intervals.total(self.service) if self.maintenance_counts else counted
        return self.cache[keys]


def stale_spans(
    changes: Sequence[StatusSince], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Return the [from, to) spans within [start, end) in which the `host` pseudo-check is not OK.

    `changes` is the host pseudo-check's history sorted by time (the staleness sweep makes it CRITICAL when
    the agent goes silent, its next report OK); no data counts as not stale.
    """
    spans: list[tuple[datetime, datetime]] = []
    since: datetime | None = None
    for change in changes:
        at = min(max(change.at, start), end)
        stale = change.status not in (Status.OK, NO_DATA)
        if stale and since is None:
            since = at
        elif not stale and since is not None:
            if at > since:
                spans.append((since, at))
            since = None
    if since is not None and end > since:
        spans.append((since, end))
    return spans


def silences(
    stale: Sequence[tuple[datetime, datetime]], observed: Sequence[datetime], allowed: timedelta
) -> list[tuple[datetime, datetime]]:
    """Return the parts of the `stale` spans that no real result covers: the host's silence.

    A result observed at t (of any check of the host) covers [t, t + allowed), the same tolerance the
    staleness sweep grants (`allowed` is the host's `stale_after`). So an agent that was only cut off and
    replays its outbox covers its stale spans with real results and has no silence; a stopped agent is
    silent from the moment it went stale until its first result after restarting.
    """
    covered = intervals.union([(_us(t), _us(t + allowed)) for t in observed])
    spans = intervals.union([(_us(a), _us(b)) for a, b in stale if b > a])
    return [(_at(a), _at(b)) for a, b in intervals.subtract(spans, covered)]


def _us(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _classes(rules: AvailabilityRules) -> dict[Status | None, int]:
    return {
        Status.OK: _UP,
        Status.WARNING: _DOWN if rules.warning_counts_as_down else _UP,
        Status.CRITICAL: _DOWN,
        Status.UNKNOWN: _DOWN,
        None: _DOWN if rules.no_data_counts_as_down else _EXCLUDED,
    }


def _segments(
    changes: Sequence[StatusSince], start: datetime, end: datetime, s_us: int, e_us: int, host: str, name: str
) -> list[tuple[int, int, Status | None]]:
    """Return contiguous (from, to, status) pieces covering [start, end), equal neighbours joined."""
    first = bisect_right(changes, start, key=_change_at)
    last = bisect_left(changes, end, key=_change_at)
    status = changes[first - 1].status if first else NO_DATA
    since = s_us
    out: list[tuple[int, int, Status | None]] = []
    for change in changes[first:last]:
        at = _us(change.at)
        if at < since:
            raise ValueError(f"state changes of {host}/{name} are not sorted at {change.at}")
        if change.status is status:
            continue
        if at > since:
            out.append((since, at, status))
        since, status = at, change.status
    out.append((since, e_us, status))
    return out


def _silenced(
    segments: list[tuple[int, int, Status | None]], silent: list[intervals.Span]
) -> list[tuple[int, int, Status | None]]:
    """Return `segments` with the sorted, disjoint `silent` spans (inside the period) set to no data."""
    out: list[tuple[int, int, Status | None]] = []
    k = 0
    for a, b, status in segments:
        while a < b:
            while k < len(silent) and silent[k][1] <= a:
                k += 1
            if k == len(silent) or silent[k][0] >= b:
                out.append((a, b, status))
                break
            x, y = silent[k]
            if x > a:
                out.append((a, x, status))
            out.append((max(a, x), min(b, y), NO_DATA))
            a = min(b, y)
    return out


def _change_at(change: StatusSince) -> datetime:
    return change.at


def _count(
    segments: list[tuple[int, int, Status | None]],
    base: list[intervals.Span],
    classes: dict[Status | None, int],
) -> tuple[list[intervals.Span], list[tuple[int, int, Status | None]]]:
    """Return the counted intervals and the down pieces (with status) of segments within `base`."""
    counted: list[intervals.Span] = []
    down: list[tuple[int, int, Status | None]] = []
    k = 0
    for a, b, status in segments:
        kind = classes[status]
        if kind == _EXCLUDED:
            continue
        while k < len(base) and base[k][1] <= a:
            k += 1
        m = k
        while m < len(base) and base[m][0] < b:
            x, y = max(a, base[m][0]), min(b, base[m][1])
            if counted and counted[-1][1] == x:
                counted[-1] = (counted[-1][0], y)
            else:
                counted.append((x, y))
            if kind == _DOWN:
                down.append((x, y, status))
            m += 1
    return counted, down


def _outages(host: str, down: list[tuple[int, int, Status | None, str]]) -> tuple[Outage, ...]:
    """Join overlapping or touching down pieces into outages carrying their objects and worst status."""
    out: list[Outage] = []
    current: list[tuple[int, int, Status | None, str]] = []
    reach = 0
    for piece in sorted(down, key=lambda p: (p[0], p[1])):
        if current and piece[0] > reach:
            out.append(_outage(host, current, reach))
            current = []
        reach = max(reach, piece[1]) if current else piece[1]
        current.append(piece)
    if current:
        out.append(_outage(host, current, reach))
    return tuple(out)


def _outage(host: str, pieces: list[tuple[int, int, Status | None, str]], reach: int) -> Outage:
    worst = max((p[2] for p in pieces), key=lambda s: _RANK[s])
    return Outage(host, tuple(sorted({p[3] for p in pieces})), _at(pieces[0][0]), _at(reach), worst)
