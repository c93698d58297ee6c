"""The soft/hard state machine per (host, check), as Nagios defines it.

A non-OK result is SOFT until `max_attempts` consecutive non-OK results, then HARD. OK is always HARD
(a recovery from a SOFT problem is a "soft recovery": the hard status was OK all along). A change of
non-OK status while HARD (WARNING -> CRITICAL) is a hard change too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fernwart.checks.status import Status


class StateType(StrEnum):
    SOFT = "SOFT"
    HARD = "HARD"


@dataclass(frozen=True)
class CheckStatus:
    """The state of one check: current status, SOFT/HARD, attempt counter and the last HARD status."""

    status: Status
    state_type: StateType
    attempt: int
    hard_status: Status


@dataclass(frozen=True)
class Transition:
    """What one result did: the new state, whether anything changed, and whether the HARD status did."""

    before: CheckStatus | None
    after: CheckStatus
    changed: bool
    hard_changed: bool


def advance(before: CheckStatus | None, status: Status, max_attempts: int) -> Transition:
    """Apply one result to a check's state and return the transition.

    `before` is None for a check never seen; its first result is a change (from pending). `max_attempts`
    below 1 counts as 1 (every failure is HARD at once).
    """
    limit = max(1, max_attempts)
    if status is Status.OK:
        after = CheckStatus(Status.OK, StateType.HARD, 1, Status.OK)
    elif before is None or before.status is Status.OK:
        hard = limit == 1
        after = CheckStatus(
            status,
            StateType.HARD if hard else StateType.SOFT,
            1,
            status if hard else (before.hard_status if before else Status.OK),
        )
    elif before.state_type is StateType.HARD:
        after = CheckStatus(status, StateType.HARD, before.attempt, status)
    else:
        attempt = before.attempt + 1
        hard = attempt >= limit
        after = CheckStatus(
            status,
            StateType.HARD if hard else StateType.SOFT,
            min(attempt, limit),
            status if hard else before.hard_status,
        )
    changed = before is None or (before.status, before.state_type) != (after.status, after.state_type)
    hard_changed = (before.hard_status if before else None) != after.hard_status
    return Transition(before, after, changed, hard_changed)
