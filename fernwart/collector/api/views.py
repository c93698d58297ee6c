"""Endpoints technicians call: hosts, their check states, tickets and ticket actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.api import deps
from fernwart.collector.api.schemas import (
    CheckStateOut,
    DeliveryOut,
    HostOut,
    ResultOut,
    TicketActionIn,
    TicketEventOut,
    TicketOut,
)
from fernwart.collector.domain.tickets import ALL_STATES, OPEN_STATES
from fernwart.collector.models import (
    CheckState,
    Customer,
    Delivery,
    Host,
    Notification,
    Result,
    Ticket,
    TicketEvent,
    User,
)
from fernwart.collector.services import tickets

router = APIRouter(prefix="/api/v1", tags=["technicians"])
DB = Annotated[Session, Depends(deps.session)]
Now = Annotated[datetime, Depends(deps.now)]


def _user(request: Request, db: DB) -> User:
    return deps.technician(request, db)


Tech = Annotated[User, Depends(_user)]


@router.get("/hosts", response_model=list[HostOut])
def hosts(db: DB, user: Tech) -> list[HostOut]:
    """List the hosts this technician may see, with counts of their checks by status."""
    rows = db.execute(
        select(Host, Customer.name)
        .outerjoin(Customer, Host.customer_id == Customer.id)
        .where(deps.visible(user))
        .order_by(Host.name)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for host_id, status, n in db.execute(
        select(CheckState.host_id, CheckState.status, func.count()).group_by(
            CheckState.host_id, CheckState.status
        )
    ):
        counts.setdefault(host_id, {})[Status(status).name] = n
    return [
        HostOut(
            id=h.id,
            name=h.name,
            customer=c,
            state=h.state,
            criticality=h.criticality,
            os=h.os,
            agent_version=h.agent_version,
            enrolled_at=h.enrolled_at,
            last_seen_at=h.last_seen_at,
            heartbeat_interval=h.heartbeat_interval,
            checks=counts.get(h.id, {}),
        )
        for h, c in rows
    ]


def _visible_host(db: Session, user: User, host_id: str) -> Host:
    found = deps.visible_host(db, user, host_id)
    if found is None:
        raise HTTPException(404, f"host {host_id} not found")
    return found[0]


@router.get("/hosts/{host_id}/checks", response_model=list[CheckStateOut])
def host_checks(host_id: str, db: DB, user: Tech) -> list[CheckStateOut]:
    """Return the current state of every check of a host, including its reachability ('host')."""
    _visible_host(db, user, host_id)
    states = db.scalars(
        select(CheckState).where(CheckState.host_id == host_id).order_by(CheckState.check_name)
    )
    return [
        CheckStateOut(
            check=s.check_name,
            type=s.check_type,
            status=s.status,
            status_name=Status(s.status).name,
            state_type=s.state_type,
            attempt=s.attempt,
            max_attempts=s.max_attempts,
            hard_status=Status(s.hard_status).name,
            interval=s.interval,
            last_observed_at=s.last_observed_at,
            last_change_at=s.last_change_at,
            last_hard_change_at=s.last_hard_change_at,
            summary=s.last_summary,
            last_result_id=s.last_result_id,
            flapping=s.flapping,
            flap_percent=s.flap_percent,
        )
        for s in states
    ]


@router.get("/hosts/{host_id}/results", response_model=list[ResultOut])
def host_results(
    host_id: str,
    db: DB,
    user: Tech,
    check: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[ResultOut]:
    """Return a host's stored results, newest observation first, optionally for one check and since a time."""
    _visible_host(db, user, host_id)
    query = select(Result).where(Result.host_id == host_id)
    if check:
        query = query.where(Result.check_name == check)
    if since is not None:
        if since.tzinfo is None:
            raise HTTPException(422, "since: give a time with a UTC offset, e.g. 2026-11-22T10:00:00Z")
        query = query.where(Result.observed_at >= since)
    rows = db.scalars(query.order_by(Result.observed_at.desc(), Result.id).limit(limit))
    return [
        ResultOut(
            id=r.id,
            check=r.check_name,
            status=r.status,
            status_name=Status(r.status).name,
            summary=r.summary,
            long_output=r.long_output,
            metrics=r.metrics,
            observed_at=r.observed_at,
            received_at=r.received_at,
            duration=r.duration,
        )
        for r in rows
    ]


def _ticket_out(ticket: Ticket, host_name: str, events: list[TicketEvent] | None = None) -> TicketOut:
    return TicketOut(
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
        events=None
        if events is None
        else [
            TicketEventOut(
                at=e.at,
                kind=e.kind,
                actor=e.actor,
                message=e.message,
                status=None if e.status is None else Status(e.status).name,
            )
            for e in events
        ],
    )


@router.get("/tickets", response_model=list[TicketOut])
def list_tickets(
    db: DB,
    user: Tech,
    state: Annotated[str, Query(description="open, all, or one state")] = "open",
    host: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TicketOut]:
    """List tickets, newest first; `state=open` (default) means any of the open states."""
    query = select(Ticket, Host.name).join(Host, Ticket.host_id == Host.id).where(deps.visible(user))
    if state == "open":
        query = query.where(Ticket.state.in_(OPEN_STATES))
    elif state in ALL_STATES:
        query = query.where(Ticket.state == state)
    elif state != "all":
        raise HTTPException(422, f"state: expected open, all or one of {', '.join(sorted(ALL_STATES))}")
    if host:
        query = query.where((Host.id == host) | (Host.name == host))
    rows = db.execute(query.order_by(Ticket.opened_at.desc()).limit(limit)).all()
    return [_ticket_out(t, name) for t, name in rows]


def _visible_ticket(db: Session, user: User, ticket_id: int) -> tuple[Ticket, str]:
    found = deps.visible_ticket(db, user, ticket_id)
    if found is None:
        raise HTTPException(404, f"ticket {ticket_id} not found")
    return found


def _history(db: Session, ticket_id: int) -> list[TicketEvent]:
    return list(
        db.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.at, TicketEvent.id)
        )
    )


@router.get("/tickets/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: int, db: DB, user: Tech) -> TicketOut:
    """Return one ticket with its whole history."""
    ticket, host_name = _visible_ticket(db, user, ticket_id)
    return _ticket_out(ticket, host_name, _history(db, ticket_id))


def _act(
    action: Callable[[Session, Ticket, str, datetime, str], None],
    ticket_id: int,
    body: TicketActionIn,
    db: Session,
    user: User,
    now: datetime,
) -> TicketOut:
    ticket, host_name = _visible_ticket(db, user, ticket_id)
    if user.customer_id is not None:
        raise HTTPException(403, "customer accounts cannot change tickets")
    try:
        action(db, ticket, user.name, now, body.message)
    except tickets.TicketError as exc:
        db.rollback()
        raise HTTPException(exc.status_code, str(exc)) from None
    db.commit()
    return _ticket_out(ticket, host_name, _history(db, ticket_id))


@router.post("/tickets/{ticket_id}/acknowledge", response_model=TicketOut)
def acknowledge(ticket_id: int, body: TicketActionIn, db: DB, user: Tech, now: Now) -> TicketOut:
    """Acknowledge a ticket (the response clock stops)."""
    return _act(tickets.acknowledge, ticket_id, body, db, user, now)


@router.post("/tickets/{ticket_id}/comment", response_model=TicketOut)
def comment(ticket_id: int, body: TicketActionIn, db: DB, user: Tech, now: Now) -> TicketOut:
    """Append a comment to a ticket's history."""
    return _act(tickets.comment, ticket_id, body, db, user, now)


@router.post("/tickets/{ticket_id}/resolve", response_model=TicketOut)
def resolve(ticket_id: int, body: TicketActionIn, db: DB, user: Tech, now: Now) -> TicketOut:
    """Resolve a ticket by hand."""
    return _act(tickets.resolve, ticket_id, body, db, user, now)


ACTIONS: dict[str, tuple[Callable[[Session, Ticket, str, datetime, str], None], str]] = {
    "start": (tickets.start, "Start work on a ticket (in_progress); acknowledges it if nobody has."),
    "wait": (tickets.wait, "Wait for the customer: both SLA clocks pause."),
    "resume": (tickets.resume, "Stop waiting for the customer: the SLA clocks run again."),
    "close": (tickets.close, "Close a resolved ticket for good."),
    "reopen": (tickets.reopen_by_hand, "Reopen a resolved ticket; its resolution clock resumes."),
    "escalate": (tickets.escalate, "Raise a ticket one support level and page that level."),
    "handback": (tickets.hand_back, "Hand a ticket back one support level."),
}


def _register(name: str, action: Callable[[Session, Ticket, str, datetime, str], None], doc: str) -> None:
    def handler(ticket_id: int, body: TicketActionIn, db: DB, user: Tech, now: Now) -> TicketOut:
        return _act(action, ticket_id, body, db, user, now)

    handler.__doc__ = doc
    router.add_api_route(
        f"/tickets/{{ticket_id}}/{name}",
        handler,
        methods=["POST"],
        response_model=TicketOut,
        name=f"ticket_{name}",
        summary=doc,
    )


for _name, (_action, _doc) in ACTIONS.items():
    _register(_name, _action, _doc)


@router.get("/tickets/{ticket_id}/notifications", response_model=list[DeliveryOut])
def ticket_notifications(ticket_id: int, db: DB, user: Tech) -> list[DeliveryOut]:
    """Return every delivery attempt of the notifications about a ticket, oldest first."""
    _visible_ticket(db, user, ticket_id)
    rows = db.execute(
        select(Notification, Delivery)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(Notification.ticket_id == ticket_id)
        .order_by(Delivery.started_at, Delivery.id)
    ).all()
    return [
        DeliveryOut(
            notification_id=n.id,
            kind=n.kind,
            level=n.level,
            target=n.target,
            state=n.state,
            attempt=d.attempt,
            transport=d.transport,
            started_at=d.started_at,
            outcome=d.outcome,
            error=d.error,
            response_code=d.response_code,
        )
        for n, d in rows
    ]
