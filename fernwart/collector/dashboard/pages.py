"""Dashboard pages: overview, hosts, tickets, and the ticket actions (POST with a CSRF token).

Host lists, check states, results and tickets come from the JSON API's own handlers in
`collector.api.views`, called as functions, so both see exactly the same data with the same scoping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.api import deps, views
from fernwart.collector.api.schemas import TicketOut
from fernwart.collector.dashboard import queries
from fernwart.collector.dashboard.web import DB, Now, SignedIn, Viewer, error_page, redirect, render, to_login
from fernwart.collector.domain.tickets import ALL_STATES, OPEN_STATES
from fernwart.collector.models import Ticket
from fernwart.collector.services import tickets

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 60
HOST_STATES = ("up", "unreachable", "pending")
TICKET_STATES = ("new", "acknowledged", "in_progress", "waiting", "resolved", "closed")
# The API's own ticket actions (views.ACTIONS: start, wait, escalate, ...) plus the three basic ones.
ACTIONS: dict[str, Callable[[Session, Ticket, str, datetime, str], None]] = {
    "acknowledge": tickets.acknowledge,
    "comment": tickets.comment,
    "resolve": tickets.resolve,
    **{name: action for name, (action, _doc) in views.ACTIONS.items()},
}
LABELS = {
    "acknowledge": "Acknowledge",
    "start": "Start work",
    "wait": "Wait for customer",
    "resume": "Resume",
    "escalate": "Escalate",
    "handback": "Hand back",
    "resolve": "Resolve",
    "reopen": "Reopen",
    "close": "Close",
}
MESSAGE_LIMIT = 10000


@router.get("/")
def overview(request: Request, db: DB, signed_in: SignedIn) -> Response:
    """Show counts of hosts, tickets and checks, and every check that is not OK."""
    if signed_in is None:
        return to_login(request)
    hosts = views.hosts(db, signed_in.user)
    host_states = Counter(h.state for h in hosts)
    check_statuses: Counter[str] = Counter()
    for host in hosts:
        check_statuses.update(host.checks)
    return render(
        request,
        "overview.html",
        signed_in,
        refresh=REFRESH_SECONDS,
        host_counts=[(state, host_states.get(state, 0)) for state in HOST_STATES],
        ticket_counts=queries.open_ticket_counts(db, signed_in.user),
        open_states=[s for s in TICKET_STATES if s in OPEN_STATES],
        check_counts=[(s.name, check_statuses.get(s.name, 0)) for s in Status],
        problems=queries.problems(db, signed_in.user),
    )


@router.get("/hosts")
def host_list(request: Request, db: DB, signed_in: SignedIn) -> Response:
    """List the hosts the viewer may see with their state and check counts."""
    if signed_in is None:
        return to_login(request)
    hosts = views.hosts(db, signed_in.user)
    statuses = [s.name for s in Status]
    return render(request, "hosts.html", signed_in, refresh=REFRESH_SECONDS, hosts=hosts, statuses=statuses)


@router.get("/hosts/{host_id}")
def host_detail(request: Request, db: DB, signed_in: SignedIn, host_id: str, check: str = "") -> Response:
    """Show a host's check states and its latest results (optionally of one check) with perfdata."""
    if signed_in is None:
        return to_login(request)
    found = deps.visible_host(db, signed_in.user, host_id)
    if found is None:
        return error_page(request, signed_in, 404, "No such host.")
    host, customer = found
    states = views.host_checks(host_id, db, signed_in.user)
    results = views.host_results(host_id, db, signed_in.user, check=check or None, since=None, limit=50)
    return render(
        request,
        "host.html",
        signed_in,
        refresh=REFRESH_SECONDS,
        host=host,
        customer=customer,
        states=states,
        results=results,
        check=check,
    )


@router.get("/tickets")
def ticket_list(request: Request, db: DB, signed_in: SignedIn, state: str = "open") -> Response:
    """List tickets, open ones by default, or those in one state, or all."""
    if signed_in is None:
        return to_login(request)
    if state not in ALL_STATES | {"open", "all"}:
        return error_page(request, signed_in, 422, "Unknown ticket state.")
    rows = views.list_tickets(db, signed_in.user, state=state, host=None, limit=500)
    choices = ["open", "all", *TICKET_STATES]
    return render(
        request,
        "tickets.html",
        signed_in,
        refresh=REFRESH_SECONDS,
        tickets=rows,
        state=state,
        choices=choices,
    )


def offered_actions(ticket: TicketOut) -> list[tuple[str, str]]:
    """Return the (action, button label) pairs that fit the ticket's state, besides commenting.

    The service layer decides in the end (a stale page may offer what no longer fits: that answers 409);
    this only keeps buttons that cannot work off the page.
    """
    state, is_open = ticket.state, ticket.state in OPEN_STATES
    wanted = {
        "acknowledge": is_open and ticket.acknowledged_at is None,
        "start": state in ("new", "acknowledged"),
        "wait": state in ("new", "acknowledged", "in_progress"),
        "resume": state == "waiting",
        "escalate": is_open,
        "handback": is_open and ticket.level > 1,
        "resolve": is_open,
        "reopen": state == "resolved",
        "close": state == "resolved",
    }
    return [(name, label) for name, label in LABELS.items() if wanted[name] and name in ACTIONS]


def _ticket_page(
    request: Request,
    db: Session,
    signed_in: Viewer,
    ticket_id: int,
    status_code: int = 200,
    message: str = "",
) -> Response:
    try:
        ticket = views.get_ticket(ticket_id, db, signed_in.user)
    except HTTPException as exc:
        return error_page(request, signed_in, exc.status_code, "No such ticket.")
    return render(
        request,
        "ticket.html",
        signed_in,
        status_code,
        ticket=ticket,
        actions=offered_actions(ticket),
        message=message,
    )


@router.get("/tickets/{ticket_id}")
def ticket_detail(request: Request, db: DB, signed_in: SignedIn, ticket_id: int) -> Response:
    """Show a ticket, its history and (for provider accounts) the forms to work it."""
    if signed_in is None:
        return to_login(request)
    return _ticket_page(request, db, signed_in, ticket_id)


@router.post("/tickets/{ticket_id}/{action}")
def ticket_action(
    request: Request,
    db: DB,
    now: Now,
    signed_in: SignedIn,
    ticket_id: int,
    action: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    message: Annotated[str, Form()] = "",
) -> Response:
    """Acknowledge, comment on or resolve a ticket from its page, then show the page again."""
    if signed_in is None:
        return to_login(request)
    if not signed_in.csrf_valid(csrf):
        return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
    act = ACTIONS.get(action)
    found = deps.visible_ticket(db, signed_in.user, ticket_id)
    ticket = found[0] if found else None
    if act is None or ticket is None:
        return error_page(request, signed_in, 404, "No such ticket or action.")
    if not signed_in.may_change_tickets:
        return error_page(request, signed_in, 403, "Customer accounts cannot change tickets.")
    if len(message) > MESSAGE_LIMIT:
        return _ticket_page(
            request, db, signed_in, ticket_id, 422, f"Keep it under {MESSAGE_LIMIT} characters."
        )
    try:
        act(db, ticket, signed_in.user.name, now, message)
    except tickets.TicketError as exc:
        db.rollback()
        return _ticket_page(request, db, signed_in, ticket_id, exc.status_code, str(exc))
    db.commit()
    return redirect(f"/tickets/{ticket_id}")
