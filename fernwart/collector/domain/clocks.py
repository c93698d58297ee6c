"""SLA clocks of a ticket (response and resolution) as a pure function of its history and `now`.

- Both clocks start at `opened_at` and count service time of the calendar that applies (the contract's,
  or the priority's override such as 24x7 for P1).
- Response stops at the first acknowledgement; a resolution before any acknowledgement stops it too, and a
  reopen before any acknowledgement lets it run again.
- Resolution stops at resolution; a reopen resumes it where it stopped (it is not restarted), so the time
  between resolution and reopen does not count.
- Both clocks pause while the ticket waits for the customer ("waiting" to "resumed"; a resolve or reopen
  also ends waiting). `due` therefore moves later while paused: it is the instant the target would be used
  up if the clock ran on without further pauses from now (or, for a stopped clock, from where it stopped).
- A clock is breached when it was still running (not stopped) after its due instant: `breached_at` is `due`.
  A clock stopped outside service hours after the due instant is therefore breached with attainment 0.
- Attainment (target minus actual, business minutes, negative when late) exists once the clock stopped and
  depends only on the history up to the stop, so recomputing it later gives the same figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fernwart.collector.domain.calendar import Interval, ServiceCalendar, require_aware
from fernwart.collector.domain.durations import Duration
from fernwart.collector.domain.tickets import TicketEventKind

# The history entries that move the SLA clocks; the others do not matter here.
CLOCK_KINDS = frozenset(
    {
        TicketEventKind.ACKNOWLEDGED,
        TicketEventKind.WAITING,
        TicketEventKind.RESUMED,
        TicketEventKind.RESOLVED,
        TicketEventKind.REOPENED,
    }
)


@dataclass(frozen=True)
class ClockEvent:
    """One entry of a ticket's history that affects its clocks (its kind is one of CLOCK_KINDS)."""

    at: datetime
    kind: TicketEventKind


@dataclass(frozen=True)
class PriorityTargets:
    """Response and resolution targets of one priority, in service time of its calendar."""

    response: Duration
    resolution: Duration


@dataclass(frozen=True)
class ClockState:
    """One SLA clock evaluated at `as_of`; all instants UTC, all amounts business seconds."""

    name: str
    target_seconds: float
    started_at: datetime
    due: datetime
    elapsed_seconds: float
    remaining_seconds: float
    warning_at: datetime | None
    warning_due: bool
    breached: bool
    breached_at: datetime | None
    stopped_at: datetime | None
    paused: bool
    attainment_minutes: float | None
    as_of: datetime
    running: tuple[Interval, ...] = field(repr=False)
    projected_from: datetime = field(repr=False)
    calendar: ServiceCalendar = field(repr=False, compare=False)

    @property
    def stopped(self) -> bool:
        """Return True once the clock stopped (acknowledged or resolved)."""
        return self.stopped_at is not None

    def instant_for(self, share: float) -> datetime:
        """Return the instant `share` (0..1, may exceed 1) of the target is used up; 0 is the start."""
        if share < 0:
            raise ValueError(f"share must not be negative, got {share}")
        if share == 0:
            return self.started_at
        amount = timedelta(seconds=self.target_seconds * share)
        return _reach(self.running, self.projected_from, amount, self.calendar)


@dataclass(frozen=True)
class TicketClocks:
    """Both clocks of a ticket."""

    response: ClockState
    resolution: ClockState


def ticket_clocks(
    opened_at: datetime,
    targets: PriorityTargets,
    calendar: ServiceCalendar,
    events: Sequence[ClockEvent],
    now: datetime,
    warn_before_breach: float | None = None,
) -> TicketClocks:
    """Return the response and resolution clocks of a ticket as they stand at `now`.

    `events` may come in any order (equal instants keep their given order); events after `now` are ignored
    as not yet happened; an event before `opened_at` or a `now` before `opened_at` is a ValueError.
    `warn_before_breach` is the share (0..1) of the target at which the warning falls due, or None.
    """
    opened_at, now = require_aware(opened_at, "opened_at"), require_aware(now, "now")
    if now < opened_at:
        raise ValueError(f"now ({now}) is before the ticket was opened ({opened_at})")
    history = sorted((ClockEvent(require_aware(e.at, "event"), e.kind) for e in events), key=lambda e: e.at)
    for event in history:
        if event.at < opened_at:
            raise ValueError(f"{event.kind} event at {event.at} precedes the opening at {opened_at}")
    history = [e for e in history if e.at <= now]

    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    waiting = False
    response_runs: list[Interval] = []
    resolution_runs: list[Interval] = []
    response_since: datetime | None = opened_at
    resolution_since: datetime | None = opened_at

    def settle(at: datetime) -> None:
        nonlocal response_since, resolution_since
        response_on = acknowledged_at is None and resolved_at is None and not waiting
        resolution_on = resolved_at is None and not waiting
        response_since = _toggle(response_runs, response_since, response_on, at)
        resolution_since = _toggle(resolution_runs, resolution_since, resolution_on, at)

    for event in history:
        if event.kind is TicketEventKind.ACKNOWLEDGED and acknowledged_at is None and resolved_at is None:
            acknowledged_at = event.at
        elif event.kind is TicketEventKind.WAITING and resolved_at is None:
            waiting = True
        elif event.kind is TicketEventKind.RESUMED:
            waiting = False
        elif event.kind is TicketEventKind.RESOLVED and resolved_at is None:
            resolved_at, waiting = event.at, False
        elif event.kind is TicketEventKind.REOPENED and resolved_at is not None:
            resolved_at = None
        settle(event.at)
    response_stop = acknowledged_at or resolved_at
    response = _state(
        "response",
        targets.response,
        calendar,
        opened_at,
        response_runs,
        response_since,
        response_stop,
        now,
        warn_before_breach,
    )
    resolution = _state(
        "resolution",
        targets.resolution,
        calendar,
        opened_at,
        resolution_runs,
        resolution_since,
        resolved_at,
        now,
        warn_before_breach,
    )
    return TicketClocks(response, resolution)


def _toggle(runs: list[Interval], since: datetime | None, on: bool, at: datetime) -> datetime | None:
    """Close the open run at `at` when the clock turns off, open one when it turns on; return its start."""
    if since is not None and not on:
        if at > since:
            runs.append((since, at))
        return None
    if since is None and on:
        return at
    return since


def _state(
    name: str,
    target: Duration,
    calendar: ServiceCalendar,
    opened_at: datetime,
    runs: list[Interval],
    since: datetime | None,
    stopped_at: datetime | None,
    now: datetime,
    warn_share: float | None,
) -> ClockState:
    running = [*runs, (since, now)] if since is not None and now > since else list(runs)
    target_seconds = target.business_seconds(calendar.service_day_seconds)
    projected_from = stopped_at or now
    due = _reach(running, projected_from, timedelta(seconds=target_seconds), calendar)
    elapsed = sum((calendar.business_time(a, b) for a, b in running), timedelta()).total_seconds()
    reference = stopped_at or now
    breached = due < reference
    warning_at = None
    if warn_share is not None:
        warning_at = _reach(running, projected_from, timedelta(seconds=target_seconds * warn_share), calendar)
    return ClockState(
        name=name,
        target_seconds=target_seconds,
        started_at=opened_at,
        due=due,
        elapsed_seconds=elapsed,
        remaining_seconds=target_seconds - elapsed,
        warning_at=warning_at,
        warning_due=warning_at is not None and warning_at <= reference,
        breached=breached,
        breached_at=due if breached else None,
        stopped_at=stopped_at,
        paused=stopped_at is None and since is None,
        attainment_minutes=(target_seconds - elapsed) / 60 if stopped_at is not None else None,
        as_of=now,
        running=tuple(running),
        projected_from=projected_from,
        calendar=calendar,
    )


def _reach(
    running: Sequence[Interval], projected_from: datetime, amount: timedelta, calendar: ServiceCalendar
) -> datetime:
    """Return the earliest instant the clock has counted `amount`: along `running`, then on from there."""
    counted = timedelta()
    for a, b in running:
        part = calendar.business_time(a, b)
        if counted + part >= amount:
            return calendar.add_business_time(a, amount - counted)
        counted += part
    return calendar.add_business_time(projected_from, amount - counted)


@dataclass(frozen=True)
class EscalationStep:
    """One level of an escalation chain and the instant it falls due for a given clock."""

    level: int
    share: float
    due: datetime


@dataclass(frozen=True)
class Escalation:
    """The level a ticket has reached, every step's due instant, and the next step if any."""

    level: int
    steps: tuple[EscalationStep, ...]
    next_step: EscalationStep | None


def escalation_level(clock: ClockState, shares: Sequence[tuple[int, float]]) -> Escalation:
    """Return the escalation level reached on `clock` (the resolution clock) for (level, share) thresholds.

    A level is reached once `share` of the target has elapsed, evaluated at the clock's `as_of`; a stopped
    clock escalates no further than it had by its stop. With no step due yet the lowest level is returned
    (tickets start at the first level). Raise ValueError for no steps, duplicate levels, or a share < 0.
    """
    if not shares:
        raise ValueError("an escalation chain needs at least one level")
    if len({level for level, _ in shares}) != len(shares):
        raise ValueError("escalation levels must be distinct")
    steps = tuple(
        EscalationStep(level, share, clock.instant_for(share))
        for level, share in sorted(shares, key=lambda s: (s[1], s[0]))
    )
    reference = clock.stopped_at or clock.as_of
    reached = [s for s in steps if s.due <= reference]
    level = max((s.level for s in reached), default=min(s.level for s in steps))
    pending = [s for s in steps if s.due > reference and s.level > level]
    return Escalation(level, steps, pending[0] if pending else None)
