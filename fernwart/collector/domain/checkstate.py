"""The decision at the heart of ingest: one observed status in; the check's new state, its state-change
row, its flap values and what it means for the check's ticket out. Pure: no database, no clock.

`step` advances one check by one observation (the soft/hard state machine and flap detection) and says
whether the ticket rules need to look at it (a `TicketTrigger`). `decide_ticket` turns a trigger into a
`TicketDecision`, given the facts the shell loaded once per batch: whether a ticket is open for the check,
when its last one was resolved, and the maintenance window in force. `services.checkstate.apply` only
loads, loops over observations in time order, and writes what these two return.

A late observation (older than the last one applied to its check, e.g. an outbox replay after a newer
result) does not move the state: `step` returns None and the result stays history only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fernwart.checks.status import Status
from fernwart.collector.domain import flapping
from fernwart.collector.domain.state import CheckStatus, StateType, advance
from fernwart.collector.domain.tickets import Action, TicketPolicy, decide

SUMMARY_KEPT = 4096  # characters of the summary a state-change row keeps (the protocol's summary limit)
DEFAULT_FLAPPING = flapping.DEFAULT_THRESHOLDS


@dataclass(frozen=True, kw_only=True)
class Observation:
    """One status observed for a check at `at`: a stored result, or the host's reachability."""

    check_name: str
    status: Status
    summary: str
    at: datetime
    max_attempts: int
    check_type: str = ""
    interval: int | None = None
    result_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckRecord:
    """What is kept per (host, check) between observations: the state, the last observation, flapping."""

    state: CheckStatus
    observed_at: datetime
    flap_history: str = ""
    flapping: bool = False


@dataclass(frozen=True, kw_only=True)
class Change:
    """A state-change row: the check's status or SOFT/HARD type changed at `at`."""

    at: datetime
    status: Status
    previous_status: Status | None
    state_type: StateType
    hard: bool  # the HARD status changed
    attempt: int
    result_id: str | None
    summary: str


class Trigger(StrEnum):
    """Why the ticket rules look at an observation."""

    HARD_CHANGE = "hard_change"  # the HARD status changed: open, update or recover a ticket
    SETTLED = "settled"  # a failing check stopped flapping: the ticket held back is due now
    REPEATED = "repeated"  # the check is still HARD and failing: its ticket is due if none is open


@dataclass(frozen=True, kw_only=True)
class TicketTrigger:
    kind: Trigger
    previous: Status | None  # the HARD status before the observation (None for a check never seen)
    current: Status  # the HARD status after it
    flapping: bool


@dataclass(frozen=True, kw_only=True)
class Step:
    """What one observation did to its check."""

    record: CheckRecord
    change: Change | None
    hard_changed: bool
    flap_percent: float
    trigger: TicketTrigger | None


def step(
    before: CheckRecord | None,
    observation: Observation,
    thresholds: flapping.FlapThresholds = DEFAULT_FLAPPING,
) -> Step | None:
    """Return what `observation` does to a check whose kept record is `before` (None: never seen).

    Returns None for a late observation (older than `before.observed_at`): it moves nothing. Flapping
    is judged as Nagios does (`domain.flapping`): a SOFT problem is not recorded and changes no flap value.
    """
    if before is not None and observation.at < before.observed_at:
        return None
    tr = advance(before.state if before else None, observation.status, observation.max_attempts)
    history = before.flap_history if before else ""
    was_flapping = flapping_now = before.flapping if before else False
    if flapping.records(tr.after.status, tr.after.state_type):
        history = flapping.remember(history, int(observation.status))
        percent = flapping.percent_state_change(history)
        flapping_now = flapping.is_flapping(was_flapping, percent, thresholds)
    else:
        percent = flapping.percent_state_change(history)  # unchanged: the history is
    record = CheckRecord(
        state=tr.after, observed_at=observation.at, flap_history=history, flapping=flapping_now
    )
    change = None
    if tr.changed:
        change = Change(
            at=observation.at,
            status=tr.after.status,
            previous_status=tr.before.status if tr.before else None,
            state_type=tr.after.state_type,
            hard=tr.hard_changed,
            attempt=tr.after.attempt,
            result_id=observation.result_id,
            summary=observation.summary[:SUMMARY_KEPT],
        )
    previous = tr.before.hard_status if tr.before else None
    trigger = None
    if tr.hard_changed:
        trigger = TicketTrigger(
            kind=Trigger.HARD_CHANGE, previous=previous, current=tr.after.hard_status, flapping=flapping_now
        )
    elif was_flapping and not flapping_now and tr.after.hard_status is not Status.OK:
        trigger = TicketTrigger(
            kind=Trigger.SETTLED, previous=Status.OK, current=tr.after.hard_status, flapping=False
        )
    elif observation.status is not Status.OK and tr.after.state_type is StateType.HARD:
        trigger = TicketTrigger(
            kind=Trigger.REPEATED, previous=previous, current=tr.after.hard_status, flapping=flapping_now
        )
    return Step(
        record=record, change=change, hard_changed=tr.hard_changed, flap_percent=percent, trigger=trigger
    )


class HeldBack(StrEnum):
    """Why a ticket that was due did not open."""

    FLAPPING = "flapping"
    MAINTENANCE = "maintenance"
    UNREACHABLE = "unreachable"  # the host is unreachable: its ticket carries the outage


@dataclass(frozen=True, kw_only=True)
class TicketDecision:
    action: Action
    held_back: HeldBack | None = None


NOTHING = TicketDecision(action=Action.NONE)


def decide_ticket(
    trigger: TicketTrigger,
    *,
    ticket_open: bool,
    last_resolved_at: datetime | None,
    in_maintenance: bool,
    at: datetime,
    policy: TicketPolicy,
    host_unreachable: bool = False,
) -> TicketDecision:
    """Return what to do with the check's ticket for `trigger`, observed `at`.

    A settled check opens its ticket only when none is open (it may have opened before flapping began).
    A repeated failure changes nothing on an open ticket (occurrences count HARD changes, as Nagios'
    problem episodes). Without an open ticket it is an opening: a ticket resolved by hand while the check
    still fails comes back (reopened) on the next HARD result, and a check still failing when its
    maintenance window ends gets its ticket on its first result after the window. An opening (or
    reopening) is held back while the check flaps, inside a maintenance window (`in_maintenance`), and
    while the check's host is unreachable (`host_unreachable`, never for the host pseudo-check itself).
    """
    if trigger.kind in (Trigger.REPEATED, Trigger.SETTLED) and ticket_open:
        return NOTHING
    action = decide(trigger.current, trigger.previous, ticket_open, last_resolved_at, at, policy)
    if action in (Action.OPEN, Action.REOPEN):
        if trigger.flapping:
            return TicketDecision(action=Action.NONE, held_back=HeldBack.FLAPPING)
        if in_maintenance:
            return TicketDecision(action=Action.NONE, held_back=HeldBack.MAINTENANCE)
        if host_unreachable:
            return TicketDecision(action=Action.NONE, held_back=HeldBack.UNREACHABLE)
    return TicketDecision(action=action)
