"""A ticket's history: append-only entries (a database trigger refuses edits and deletes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fernwart.collector.domain.tickets import TicketEventKind
from fernwart.collector.models import Ticket, TicketEvent

SYSTEM = "system"  # the actor of what the collector does by itself


def append(
    session: Session,
    ticket: Ticket,
    kind: TicketEventKind,
    at: datetime,
    *,
    actor: str = SYSTEM,
    message: str = "",
    status: int | None = None,
) -> TicketEvent:
    """Append one entry to the ticket's history; return it (its id is set at the next flush)."""
    event = TicketEvent(
        ticket_id=ticket.id, at=at, kind=kind.value, actor=actor, message=message, status=status
    )
    session.add(event)
    return event
