"""Ticket operations: opened, updated, reopened and recovered by the system; acknowledged, commented
and resolved by technicians. Every change appends a `TicketEvent` (the table is append-only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.tickets import (
    OPEN_STATES,
    SERVICE_REQUEST,
    TicketEventKind,
    TicketState,
    open_key,
    request_key,
)
from fernwart.collector.domain.windows import MaintenanceWindow
from fernwart.collector.models import Host, Ticket
from fernwart.collector.notify.base import NotificationKind
from fernwart.collector.services import auto_diagnosis, clocks, history
from fernwart.collector.services.auth import Account
from fernwart.collector.services.contracts import terms_of
from fernwart.collector.services.errors import Conflict, Invalid, NotFound
from fernwart.collector.services.escalation import page
from fernwart.collector.services.permissions import Permission, require
from fernwart.collector.services.read.tickets import visible_ticket


def title_for(host: Host, check_name: str, status: Status, summary: str) -> str:
    """Return a ticket title a customer can read."""
    what = "host unreachable" if check_name == "host" else f"{check_name} {status.name}"
    return f"{host.name}: {what} - {summary}"[:500]


def open_ticket(
    session: Session,
    host: Host,
    check_name: str,
    status: Status,
    summary: str,
    at: datetime,
    now: datetime,
    *,
    windows: Sequence[MaintenanceWindow] | None = None,
) -> Ticket:
    """Open a repair ticket for (host, check), or return the open one if another writer was first.

    The unique `open_key` makes a second open ticket impossible; the insert runs in a savepoint so losing
    that race leaves the surrounding transaction usable. `windows` are the customer's maintenance windows
    when the caller has them loaded (the page is held back inside one).
    """
    ticket = Ticket(
        host_id=host.id,
        check_name=check_name,
        open_key=open_key(host.id, check_name),
        state=TicketState.NEW,
        title=title_for(host, check_name, status, summary),
        status=int(status),
        level=1,
        occurrences=1,
        opened_at=at,
        updated_at=now,
    )
    contract = clocks.assign(session, ticket, host)
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Ticket).where(Ticket.open_key == open_key(host.id, check_name)))
        if existing is None:
            raise
        add_failure(session, existing, status, summary, at, now)
        return existing
    opening = history.append(session, ticket, TicketEventKind.OPENED, at, message=summary, status=int(status))
    auto_diagnosis.after_opening(session, ticket, host, opening, now)
    if contract is not None:
        clocks.refresh(session, ticket, now)
        page(
            session,
            ticket,
            contract,
            NotificationKind.TICKET_OPENED,
            ticket.level,
            now,
            windows_in_force=windows,
        )
    return ticket


def add_failure(
    session: Session, ticket: Ticket, status: Status, summary: str, at: datetime, now: datetime
) -> None:
    """Record a further failure (a new HARD problem status) on an open ticket."""
    ticket.status = int(status)
    ticket.occurrences += 1
    ticket.updated_at = now
    history.append(session, ticket, TicketEventKind.FAILURE, at, message=summary, status=int(status))


def reopen(
    session: Session, ticket: Ticket, status: Status, summary: str, at: datetime, now: datetime
) -> None:
    """Reopen a resolved ticket after a recurrence within the reopen window."""
    ticket.state = TicketState.ACKNOWLEDGED if ticket.acknowledged_at else TicketState.NEW
    ticket.open_key = open_key(ticket.host_id, ticket.check_name)
    ticket.resolved_at = None
    ticket.status = int(status)
    ticket.occurrences += 1
    ticket.updated_at = now
    session.flush()
    opening = history.append(
        session, ticket, TicketEventKind.REOPENED, at, message=summary, status=int(status)
    )
    host = session.get(Host, ticket.host_id)
    if host is not None:
        auto_diagnosis.after_opening(session, ticket, host, opening, now)
    _after(session, ticket, now, NotificationKind.REOPENED)


def recover(
    session: Session, ticket: Ticket, summary: str, at: datetime, now: datetime, resolve: bool
) -> None:
    """Note that the fault is gone; resolve the ticket when the policy says so."""
    history.append(session, ticket, TicketEventKind.RECOVERED, at, message=summary, status=int(Status.OK))
    ticket.updated_at = now
    if resolve:
        _resolve(session, ticket, at, history.SYSTEM, "resolved on recovery")


def _resolve(session: Session, ticket: Ticket, at: datetime, actor: str, message: str) -> None:
    ticket.state = TicketState.RESOLVED
    ticket.resolved_at = at
    ticket.open_key = None
    history.append(session, ticket, TicketEventKind.RESOLVED, at, actor=actor, message=message)
    _after(session, ticket, at, NotificationKind.RESOLVED)


def _after(session: Session, ticket: Ticket, now: datetime, kind: NotificationKind | None = None) -> None:
    """Bring the SLA clocks up to date after an event, and page the ticket's level for `kind`."""
    if ticket.priority is None:
        return
    clocks.refresh(session, ticket, now)
    contract = terms_of(session, ticket)
    if kind is not None and contract is not None:
        page(session, ticket, contract, kind, ticket.level, now)


def acknowledge(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Acknowledge a new ticket (stops the response clock); raise TicketError when it is not open."""
    if ticket.state not in OPEN_STATES:
        raise Conflict(f"ticket {ticket.id} is {ticket.state}; only open tickets can be acknowledged")
    if ticket.acknowledged_at is not None:
        raise Conflict(f"ticket {ticket.id} was acknowledged already")
    ticket.state = TicketState.ACKNOWLEDGED
    ticket.acknowledged_at = now
    ticket.updated_at = now
    history.append(session, ticket, TicketEventKind.ACKNOWLEDGED, now, actor=actor, message=message)
    _after(session, ticket, now)


def comment(session: Session, ticket: Ticket, actor: str, now: datetime, message: str) -> None:
    """Append a technician's comment to any ticket."""
    if not message.strip():
        raise Invalid("message: a comment needs text")
    ticket.updated_at = now
    history.append(session, ticket, TicketEventKind.COMMENT, now, actor=actor, message=message)


def resolve(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Resolve an open ticket by hand."""
    if ticket.state not in OPEN_STATES:
        raise Conflict(f"ticket {ticket.id} is {ticket.state} already")
    ticket.updated_at = now
    _resolve(session, ticket, now, actor, message or "resolved by technician")


def start(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Mark work as started (in_progress); acknowledges the ticket first if nobody has."""
    if ticket.state not in (TicketState.NEW, TicketState.ACKNOWLEDGED):
        raise Conflict(f"ticket {ticket.id} is {ticket.state}; work starts on new or acknowledged tickets")
    if ticket.acknowledged_at is None:
        acknowledge(session, ticket, actor, now, "acknowledged by starting work")
    ticket.state = TicketState.IN_PROGRESS
    ticket.updated_at = now
    history.append(session, ticket, TicketEventKind.STARTED, now, actor=actor, message=message)


def wait(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Put the ticket on hold waiting for the customer: both SLA clocks pause."""
    if ticket.state not in (TicketState.NEW, TicketState.ACKNOWLEDGED, TicketState.IN_PROGRESS):
        raise Conflict(f"ticket {ticket.id} is {ticket.state}; only active tickets can wait for the customer")
    ticket.state = TicketState.WAITING
    ticket.updated_at = now
    history.append(
        session,
        ticket,
        TicketEventKind.WAITING,
        now,
        actor=actor,
        message=message or "waiting for the customer",
    )
    _after(session, ticket, now)


def resume(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """End the wait for the customer: the SLA clocks run again."""
    if ticket.state != TicketState.WAITING:
        raise Conflict(f"ticket {ticket.id} is {ticket.state}, not waiting")
    ticket.state = TicketState.IN_PROGRESS if ticket.acknowledged_at else TicketState.NEW
    ticket.updated_at = now
    history.append(session, ticket, TicketEventKind.RESUMED, now, actor=actor, message=message)
    _after(session, ticket, now)


def close(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Close a resolved ticket for good (it can no longer be reopened)."""
    if ticket.state != TicketState.RESOLVED:
        raise Conflict(f"ticket {ticket.id} is {ticket.state}; only resolved tickets can be closed")
    ticket.state = TicketState.CLOSED
    ticket.closed_at = now
    ticket.updated_at = now
    history.append(session, ticket, TicketEventKind.CLOSED, now, actor=actor, message=message)


def reopen_by_hand(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Reopen a resolved ticket by hand; the resolution clock resumes where it stopped."""
    if ticket.state != TicketState.RESOLVED:
        raise Conflict(f"ticket {ticket.id} is {ticket.state}; only resolved tickets can be reopened")
    if ticket.check_name == SERVICE_REQUEST:
        key = request_key(ticket.host_id, str(ticket.id))  # requests never block one another
    elif session.scalar(
        select(Ticket.id).where(Ticket.open_key == open_key(ticket.host_id, ticket.check_name))
    ):
        raise Conflict(f"another ticket is open for {ticket.check_name} on this host")
    else:
        key = open_key(ticket.host_id, ticket.check_name)
    ticket.state = TicketState.ACKNOWLEDGED if ticket.acknowledged_at else TicketState.NEW
    ticket.open_key = key
    ticket.resolved_at = None
    ticket.updated_at = now
    session.flush()
    history.append(session, ticket, TicketEventKind.REOPENED, now, actor=actor, message=message)
    _after(session, ticket, now, NotificationKind.REOPENED)


def _top_level(session: Session, ticket: Ticket) -> int:
    contract = terms_of(session, ticket) if ticket.priority else None
    return max((e.level for e in contract.contract.escalation), default=3) if contract else 3


def escalate(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Raise an open ticket one support level by hand and page that level's contacts."""
    if ticket.state not in OPEN_STATES:
        raise Conflict(f"ticket {ticket.id} is {ticket.state}; only open tickets escalate")
    if ticket.level >= _top_level(session, ticket):
        raise Conflict(f"ticket {ticket.id} is at the highest level ({ticket.level}) already")
    ticket.level += 1
    ticket.updated_at = now
    history.append(
        session,
        ticket,
        TicketEventKind.ESCALATED,
        now,
        actor=actor,
        message=message or f"to level {ticket.level} by hand",
    )
    _after(session, ticket, now, NotificationKind.ESCALATED)


def hand_back(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Hand an open ticket back one support level."""
    if ticket.state not in OPEN_STATES:
        raise Conflict(f"ticket {ticket.id} is {ticket.state}; only open tickets can be handed back")
    if ticket.level <= 1:
        raise Conflict(f"ticket {ticket.id} is at level 1 already")
    ticket.level -= 1
    ticket.updated_at = now
    history.append(
        session,
        ticket,
        TicketEventKind.HANDED_BACK,
        now,
        actor=actor,
        message=message or f"to level {ticket.level}",
    )
    _after(session, ticket, now, NotificationKind.HANDED_BACK)


TicketAction = Callable[[Session, Ticket, str, datetime, str], None]


@dataclass(frozen=True)
class TicketOperation:
    """One thing a technician may do to a ticket: the operation, who may, and what it does."""

    run: TicketAction
    permission: Permission
    doc: str


_WORK = Permission.WORK_TICKETS
# Action name (the API's path segment and the dashboard's form target) -> its operation.
ACTIONS: dict[str, TicketOperation] = {
    "acknowledge": TicketOperation(acknowledge, _WORK, "Acknowledge a ticket (the response clock stops)."),
    "comment": TicketOperation(comment, Permission.COMMENT, "Append a comment to a ticket's history."),
    "resolve": TicketOperation(resolve, _WORK, "Resolve a ticket by hand."),
    "start": TicketOperation(start, _WORK, "Start work (in_progress); acknowledges it if nobody has."),
    "wait": TicketOperation(wait, _WORK, "Wait for the customer: both SLA clocks pause."),
    "resume": TicketOperation(resume, _WORK, "Stop waiting for the customer: the SLA clocks run again."),
    "close": TicketOperation(close, Permission.CLOSE, "Close a resolved ticket for good."),
    "reopen": TicketOperation(
        reopen_by_hand, _WORK, "Reopen a resolved ticket; its resolution clock resumes."
    ),
    "escalate": TicketOperation(
        escalate, Permission.ESCALATE, "Raise a ticket one support level and page that level."
    ),
    "handback": TicketOperation(hand_back, Permission.HAND_BACK, "Hand a ticket back one support level."),
}


def act(
    session: Session, account: Account, ticket_id: int, action: str, now: datetime, message: str = ""
) -> None:
    """Carry out `action` on a ticket the account may see; the caller commits.

    Raise NotFound for a ticket the account may not see or an unknown action, Forbidden when the account
    may not (customer accounts may only comment), Conflict when the action does not fit the ticket's state,
    Invalid for a bad message.
    """
    ticket, _ = visible_ticket(session, account, ticket_id)
    operation = ACTIONS.get(action)
    if operation is None:
        raise NotFound(f"no ticket action {action!r}; expected one of {', '.join(ACTIONS)}")
    require(account, operation.permission, ticket.level)
    operation.run(session, ticket, account.name, now, message)
    if account.is_customer and action == "comment" and ticket.state == TicketState.WAITING:
        resume(session, ticket, account.name, now, "the customer answered")  # the clocks run again
