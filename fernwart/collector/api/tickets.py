"""Endpoints technicians call about tickets: lists, one ticket with its history, actions, notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fernwart.collector.api.inputs import SafeStr, TicketId, json_body, request_body
from fernwart.collector.api.schemas import DeliveryOut, TicketActionIn, TicketOut
from fernwart.collector.deps import DB, Now, Tech
from fernwart.collector.services import read, tickets

router = APIRouter(prefix="/api/v1", tags=["technicians"])


@router.get("/tickets", response_model=list[TicketOut])
def list_tickets(
    db: DB,
    user: Tech,
    state: Annotated[SafeStr, Query(max_length=32, description="open, all, or one state")] = "open",
    host: Annotated[SafeStr | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TicketOut]:
    """List tickets, newest first; `state=open` (default) means any of the open states."""
    found = read.tickets.listed(db, user, state=state, host=host, limit=limit)
    return [TicketOut.model_validate(t) for t in found]


@router.get("/tickets/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: TicketId, db: DB, user: Tech) -> TicketOut:
    """Return one ticket with its whole history."""
    return TicketOut.model_validate(read.tickets.one(db, user, ticket_id))


ActionBody = Annotated[TicketActionIn, Depends(json_body(TicketActionIn))]


def _register(name: str, doc: str) -> None:
    def handler(ticket_id: TicketId, user: Tech, body: ActionBody, db: DB, now: Now) -> TicketOut:
        tickets.act(db, user, ticket_id, name, now, body.message)
        db.commit()
        return TicketOut.model_validate(read.tickets.one(db, user, ticket_id))

    handler.__doc__ = doc
    router.add_api_route(
        f"/tickets/{{ticket_id}}/{name}",
        handler,
        methods=["POST"],
        response_model=TicketOut,
        name=f"ticket_{name}",
        summary=doc,
        openapi_extra=request_body(TicketActionIn),
    )


for _name, _operation in tickets.ACTIONS.items():
    _register(_name, _operation.doc)


@router.get("/tickets/{ticket_id}/notifications", response_model=list[DeliveryOut])
def ticket_notifications(ticket_id: TicketId, db: DB, user: Tech) -> list[DeliveryOut]:
    """Return every delivery attempt of the notifications about a ticket, oldest first."""
    return [DeliveryOut.model_validate(d) for d in read.tickets.deliveries(db, user, ticket_id)]
