"""Reading tickets, their history and their notifications' delivery attempts, scoped by account.

`services.tickets` is the write side of the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.tickets import OPEN_STATES, TicketState
from fernwart.collector.models import Delivery, Host, Notification, Ticket, TicketEvent
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Invalid, NotFound
from fernwart.collector.services.read.scope import visible


@dataclass(frozen=True)
class TicketEventView:
    at: datetime
    kind: str
    actor: str
    message: str
    status: str | None


@dataclass(frozen=True)
class TicketView:
    id: int
    host_id: str
    host: str
    check: str
    state: str
    title: str
    status: str
    priority: str | None
    level: int
    occurrences: int
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    impact: str | None
    urgency: str | None
    response_due: datetime | None
    resolution_due: datetime | None
    response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    response_attainment_minutes: float | None
    resolution_attainment_minutes: float | None
    events: tuple[TicketEventView, ...] | None = None


def _event_view(event: TicketEvent) -> TicketEventView:
    status = None if event.status is None else Status(event.status).name
    return TicketEventView(
        at=event.at, kind=event.kind, actor=event.actor, message=event.message, status=status
    )


def _ticket_view(ticket: Ticket, host_name: str, events: list[TicketEvent] | None = None) -> TicketView:
    return TicketView(
        id=ticket.id,
        host_id=ticket.host_id,
        host=host_name,
        check=ticket.check_name,
        state=ticket.state,
        title=ticket.title,
        status=Status(ticket.status).name,
        priority=ticket.priority,
        level=ticket.level,
        occurrences=ticket.occurrences,
        opened_at=ticket.opened_at,
        acknowledged_at=ticket.acknowledged_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        updated_at=ticket.updated_at,
        impact=ticket.impact,
        urgency=ticket.urgency,
        response_due=ticket.response_due,
        resolution_due=ticket.resolution_due,
        response_breached_at=ticket.response_breached_at,
        resolution_breached_at=ticket.resolution_breached_at,
        response_attainment_minutes=ticket.response_attainment,
        resolution_attainment_minutes=ticket.resolution_attainment,
        events=None if events is None else tuple(_event_view(e) for e in events),
    )


STATE_CHOICES = ("open", "all", *(s.value for s in TicketState))


def listed(
    session: Session, account: Account, *, state: str = "open", host: str | None = None, limit: int = 200
) -> list[TicketView]:
    """Return tickets, newest first; `state` is "open" (any open state), "all" or one ticket state."""
    query = select(Ticket, Host.name).join(Host, Ticket.host_id == Host.id).where(visible(account))
    if state == "open":
        query = query.where(Ticket.state.in_(OPEN_STATES))
    elif state in STATE_CHOICES[2:]:
        query = query.where(Ticket.state == state)
    elif state != "all":
        raise Invalid(f"state: expected one of {', '.join(STATE_CHOICES)}")
    if host:
        query = query.where((Host.id == host) | (Host.name == host))
    rows = session.execute(query.order_by(Ticket.opened_at.desc()).limit(limit)).all()
    return [_ticket_view(t, name) for t, name in rows]


def visible_ticket(session: Session, account: Account, ticket_id: int) -> tuple[Ticket, str]:
    """Return the ticket and its host's name if the account may see it; NotFound otherwise."""
    row = session.execute(
        select(Ticket, Host.name)
        .join(Host, Ticket.host_id == Host.id)
        .where(Ticket.id == ticket_id)
        .where(visible(account))
    ).first()
    if row is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return row[0], row[1]


def one(session: Session, account: Account, ticket_id: int) -> TicketView:
    """Return one ticket the account may see, with its whole history."""
    found, host_name = visible_ticket(session, account, ticket_id)
    events = list(
        session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.at, TicketEvent.id)
        )
    )
    return _ticket_view(found, host_name, events)


@dataclass(frozen=True)
class DeliveryView:
    notification_id: int
    kind: str
    level: int | None
    target: str
    state: str
    attempt: int
    transport: str
    started_at: datetime
    outcome: str
    error: str
    response_code: int | None


def deliveries(session: Session, account: Account, ticket_id: int) -> list[DeliveryView]:
    """Return every delivery attempt of the notifications about a ticket, oldest first.

    Customer accounts see when and whether each attempt went out, not where to (a contact's address or
    webhook URL) nor why it failed: those are the provider's configuration and network.
    """
    visible_ticket(session, account, ticket_id)
    rows = session.execute(
        select(Notification, Delivery)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(Notification.ticket_id == ticket_id)
        .order_by(Delivery.started_at, Delivery.id)
    ).all()
    return [
        DeliveryView(
            notification_id=n.id,
            kind=n.kind,
            level=n.level,
            target="" if account.is_customer else n.target,
            state=n.state,
            attempt=d.attempt,
            transport=d.transport,
            started_at=d.started_at,
            outcome=d.outcome,
            error="" if account.is_customer else d.error,
            response_code=None if account.is_customer else d.response_code,
        )
        for n, d in rows
    ]


def open_counts(session: Session, account: Account) -> dict[str, int]:
    """Return the number of open tickets the account may see, by ticket state."""
    rows = session.execute(
        select(Ticket.state, func.count())
        .join(Host, Ticket.host_id == Host.id)
        .where(visible(account))
        .where(Ticket.state.in_(OPEN_STATES))
        .group_by(Ticket.state)
    )
    return {state: count for state, count in rows}
