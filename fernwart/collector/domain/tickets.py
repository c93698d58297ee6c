"""Rules that turn HARD state changes into ticket actions (Instandsetzung).

`decide` is a pure function: given the hard transition, whether a ticket is open, when the last one
was resolved and the policy, it says what to do. The service layer carries the decision out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from fernwart.checks.status import Status


class TicketState(StrEnum):
    """Where a ticket is in its life: new -> acknowledged -> in_progress -> waiting -> resolved -> closed."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"  # for the customer: the SLA clocks pause
    RESOLVED = "resolved"
    CLOSED = "closed"


class TicketEventKind(StrEnum):
    """What a ticket's history entry records (the append-only `ticket_events.kind`)."""

    OPENED = "opened"
    FAILURE = "failure"  # a further HARD problem status on the open ticket
    RECOVERED = "recovered"  # the check is OK again
    REOPENED = "reopened"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    COMMENT = "comment"
    STARTED = "started"
    WAITING = "waiting"
    RESUMED = "resumed"
    CLOSED = "closed"
    ESCALATED = "escalated"
    HANDED_BACK = "handed_back"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    DIAGNOSTIC = "diagnostic"  # a playbook's output, for a job run on the ticket


OPEN_STATES = frozenset(
    {TicketState.NEW, TicketState.ACKNOWLEDGED, TicketState.IN_PROGRESS, TicketState.WAITING}
)


class Action(StrEnum):
    NONE = "none"
    OPEN = "open"  # open a new ticket
    REOPEN = "reopen"  # reopen the last resolved ticket of this (host, check)
    UPDATE = "update"  # append a failure event to the open ticket
    RECOVER = "recover"  # the fault is gone: resolve (or note recovery, per policy)


@dataclass(frozen=True)
class TicketPolicy:
    """Which HARD statuses open tickets, whether recovery resolves, and the reopen window."""

    open_on: frozenset[Status] = frozenset({Status.CRITICAL})
    resolve_on_recovery: bool = True
    reopen_window: timedelta = timedelta(hours=1)


def decide(
    hard_status: Status,
    previous_hard_status: Status | None,
    has_open_ticket: bool,
    last_resolved_at: datetime | None,
    at: datetime,
    policy: TicketPolicy,
) -> Action:
    """Return the ticket action for a HARD status change to `hard_status` observed `at`.

    A failure status not in `policy.open_on` (e.g. WARNING by default) opens nothing but still updates
    an open ticket; a return to OK recovers an open ticket. A failure within `reopen_window` after the
    last resolution reopens that ticket instead of opening a new one.
    """
    if hard_status is Status.OK:
        return Action.RECOVER if has_open_ticket else Action.NONE
    if has_open_ticket:
        return Action.UPDATE if hard_status != previous_hard_status else Action.NONE
    if hard_status not in policy.open_on:
        return Action.NONE
    if last_resolved_at is not None and timedelta(0) <= at - last_resolved_at <= policy.reopen_window:
        return Action.REOPEN
    return Action.OPEN


def open_key(host_id: str, check_name: str) -> str:
    """Return the value that makes 'one open ticket per (host, check)' a unique constraint."""
    return f"{host_id}/{check_name}"


# The pseudo-check of a service request: a ticket a customer (or a technician for them) opened by hand,
# about a host but no check. The space keeps it out of agents' check names (protocol.CHECK_NAME).
SERVICE_REQUEST = "service request"


def request_key(host_id: str, ticket_token: str) -> str:
    """Return the open key of a service request: unique per request, so a host may have several open."""
    return f"{host_id}/{SERVICE_REQUEST}/{ticket_token}"
