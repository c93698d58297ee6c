"""Ticket operations: opened, updated, reopened and recovered by the system; acknowledged, commented
and resolved by technicians. Every change appends a `TicketEvent` (the table is append-only).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from checks.status import Status
from collector.domain.tickets import OPEN_STATES, open_key
from collector.models import Host, Ticket, TicketEvent

SYSTEM = "system"


class TicketError(Exception):
    """Raised for a ticket action that does not fit the ticket's state; `status_code` is the HTTP answer."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


def _event(
    session: Session,
    ticket: Ticket,
    kind: str,
    at: datetime,
    actor: str,
    message: str = "",
    status: int | None = None,
) -> None:
    session.add(
        TicketEvent(ticket_id=ticket.id, at=at, kind=kind, actor=actor, message=message, status=status)
    )


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
) -> Ticket:
    """Open a repair ticket for (host, check), or return the open one if another writer was first.

    The unique `open_key` makes a second open ticket impossible; the insert runs in a savepoint so losing
    that race leaves the surrounding transaction usable.
    """
    ticket = Ticket(
        host_id=host.id,
        check_name=check_name,
        open_key=open_key(host.id, check_name),
        state="new",
        title=title_for(host, check_name, status, summary),
        status=int(status),
        level=1,
        occurrences=1,
        opened_at=at,
        updated_at=now,
    )
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
    _event(session, ticket, "opened", at, SYSTEM, summary, int(status))
    return ticket


def add_failure(
    session: Session, ticket: Ticket, status: Status, summary: str, at: datetime, now: datetime
) -> None:
    """Record a further failure (a new HARD problem status) on an open ticket."""
    ticket.status = int(status)
    ticket.occurrences += 1
    ticket.updated_at = now
    _event(session, ticket, "failure", at, SYSTEM, summary, int(status))


def reopen(
    session: Session, ticket: Ticket, status: Status, summary: str, at: datetime, now: datetime
) -> None:
    """Reopen a resolved ticket after a recurrence within the reopen window."""
    ticket.state = "acknowledged" if ticket.acknowledged_at else "new"
    ticket.open_key = open_key(ticket.host_id, ticket.check_name)
    ticket.resolved_at = None
    ticket.status = int(status)
    ticket.occurrences += 1
    ticket.updated_at = now
    session.flush()
    _event(session, ticket, "reopened", at, SYSTEM, summary, int(status))


def recover(
    session: Session, ticket: Ticket, summary: str, at: datetime, now: datetime, resolve: bool
) -> None:
    """Note that the fault is gone; resolve the ticket when the policy says so."""
    _event(session, ticket, "recovered", at, SYSTEM, summary, int(Status.OK))
    ticket.updated_at = now
    if resolve:
        _resolve(session, ticket, at, SYSTEM, "resolved on recovery")


def _resolve(session: Session, ticket: Ticket, at: datetime, actor: str, message: str) -> None:
    ticket.state = "resolved"
    ticket.resolved_at = at
    ticket.open_key = None
    _event(session, ticket, "resolved", at, actor, message)


def acknowledge(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Acknowledge a new ticket (stops the response clock); raise TicketError when it is not open."""
    if ticket.state not in OPEN_STATES:
        raise TicketError(f"ticket {ticket.id} is {ticket.state}; only open tickets can be acknowledged")
    if ticket.acknowledged_at is not None:
        raise TicketError(f"ticket {ticket.id} was acknowledged already")
    ticket.state = "acknowledged"
    ticket.acknowledged_at = now
    ticket.updated_at = now
    _event(session, ticket, "acknowledged", now, actor, message)


def comment(session: Session, ticket: Ticket, actor: str, now: datetime, message: str) -> None:
    """Append a technician's comment to any ticket."""
    if not message.strip():
        raise TicketError("a comment needs text", 422)
    ticket.updated_at = now
    _event(session, ticket, "comment", now, actor, message)


def resolve(session: Session, ticket: Ticket, actor: str, now: datetime, message: str = "") -> None:
    """Resolve an open ticket by hand."""
    if ticket.state not in OPEN_STATES:
        raise TicketError(f"ticket {ticket.id} is {ticket.state} already")
    ticket.updated_at = now
    _resolve(session, ticket, now, actor, message or "resolved by technician")
