"""Dashboard pages: overview, hosts, tickets, and the ticket actions (POST with a CSRF token).

Everything shown comes from the read side (`services.read`) and every action goes through
`services.tickets.act`, the same functions the JSON API calls, so both show the same data under the same
scoping and refuse the same things.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.dashboard import charts, host_identity
from fernwart.collector.dashboard.web import (
    Viewer,
    Viewing,
    error_page,
    redirect,
    refusal_page,
    render,
    ticket_number,
    time_formatter,
)
from fernwart.collector.deps import DB, Now
from fernwart.collector.domain.tickets import OPEN_STATES, TicketState
from fernwart.collector.services import read, report_formats, reports, tickets
from fernwart.collector.services.errors import Invalid, NotFound, ServiceError
from fernwart.collector.services.read.tickets import STATE_CHOICES, TicketView
from fernwart.collector.statuses import status_of

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 60
HOST_STATES = ("up", "unreachable", "pending")
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
def overview(request: Request, db: DB, now: Now, signed_in: Viewing) -> Response:
    """Show each customer's SLA this month, the tickets closest to breach, counts of hosts, tickets and
    checks, and every check that is not OK."""
    hosts = read.hosts.listed(db, signed_in.user)
    host_states = Counter(h.state for h in hosts)
    check_statuses: Counter[str] = Counter()
    for host in hosts:
        check_statuses.update(host.checks)
    sla_lines, closest = read.sla.overview(db, signed_in.user, now)
    problems = read.hosts.problems(db, signed_in.user)
    marks = read.marks.of_problems(db, signed_in.user, problems, now)
    no_mark = read.marks.ProblemMark(None, None, False, None)
    # per customer (stable: the worst first within each), so one customer's outage reads as one block
    problems = sorted(problems, key=lambda p: marks.get((p.host_id, p.check), no_mark).customer or "")
    return render(
        request,
        "overview.html",
        signed_in,
        refresh=REFRESH_SECONDS,
        sla_lines=sla_lines,
        closest=closest,
        target_bar=report_formats.target_bar,
        duration=report_formats.duration,
        percent=reports.percent,
        host_counts=[(state, host_states.get(state, 0)) for state in HOST_STATES],
        ticket_counts=read.tickets.open_counts(db, signed_in.user),
        open_states=[s.value for s in TicketState if s in OPEN_STATES],
        check_counts=[(s.name, check_statuses.get(s.name, 0)) for s in Status],
        problems=problems,
        marks=marks,
    )


@router.get("/hosts")
def host_list(request: Request, db: DB, signed_in: Viewing) -> Response:
    """List the hosts the viewer may see with their state and check counts."""
    hosts = read.hosts.listed(db, signed_in.user)
    statuses = [s.name for s in Status]
    return render(request, "hosts.html", signed_in, refresh=REFRESH_SECONDS, hosts=hosts, statuses=statuses)


@router.get("/hosts/{host_id}")
def host_detail(
    request: Request, db: DB, now: Now, signed_in: Viewing, host_id: str, check: str = "", days: int = 0,
    month: str = "",
) -> Response:
    """Show a host's check states, its state timeline for a month (the running one by default), its last
    delivery and its latest results (optionally of one check) with perfdata; with `days`, the check's
    charts span that many days (bucket averages, rollups past the raw retention)."""
    try:
        host = read.hosts.one(db, signed_in.user, host_id)
        timeline = read.timeline.of_host(db, signed_in.user, host_id, month[:7] or None, now)
    except NotFound:
        return error_page(request, signed_in, 404, "No such host.")
    except Invalid as exc:
        return error_page(request, signed_in, 422, str(exc))
    if days and days not in read.hosts.CHART_DAYS:
        choices = ", ".join(str(d) for d in read.hosts.CHART_DAYS)
        return error_page(request, signed_in, 422, f"days: choose one of {choices}.")
    states = read.hosts.checks(db, signed_in.user, host_id)
    results = read.hosts.results(db, signed_in.user, host_id, check=check or None, limit=50)
    shown = _charts(results) if check else []
    if check and days:
        since = now - timedelta(days=days)
        resolution, series = read.hosts.metric_history(db, signed_in.user, host_id, check, since, now)
        units = {str(m.get("label", "")): str(m.get("uom") or "") for r in results for m in r.metrics}
        shown = [charts.history_chart(label, points, units.get(label, ""), resolution)
                 for label, points in series.items()]
    return render(
        request,
        "host.html",
        signed_in,
        **host_identity.context(db, signed_in, host_id),
        refresh=REFRESH_SECONDS,
        host=host,
        customer=host.customer,
        states=states,
        results=results,
        check=check,
        days=days,
        chart_days=read.hosts.CHART_DAYS,
        charts=shown,
        windows=read.windows.of_host(db, signed_in.user, host_id),
        timeline=timeline,
        timeline_chart=charts.state_timeline(timeline, time_formatter(signed_in)),
        earlier=read.timeline.shift_month(timeline.month, -1),
        later=read.timeline.shift_month(timeline.month, 1)
        if timeline.end <= now else None,
        delivery=read.delivery.last_delivery(db, signed_in.user, host_id),
        duration=report_formats.duration,
    )


def _charts(results: list[read.hosts.ResultView]) -> list[Markup]:
    """Return one SVG chart per metric of one check's results (the page shows them above the table)."""
    units = {str(m.get("label", "")): str(m.get("uom") or "") for r in results for m in r.metrics}
    return [charts.metric_chart(label, points, units.get(label, ""))
            for label, points in charts.metric_series(results).items()]


@router.get("/tickets")
def ticket_list(request: Request, db: DB, signed_in: Viewing) -> Response:
    """List one page of tickets (open ones by default), filtered by state, level, priority and customer,
    sorted by SLA due time or another column; a bad parameter answers 422 with what was wrong."""
    params = dict(request.query_params)
    try:
        wanted = read.queue.parse_filter(params)
    except Invalid as exc:
        return error_page(request, signed_in, 422, str(exc))
    found = read.queue.queue(db, signed_in.user, wanted)
    customers, priorities = read.queue.facets(db, signed_in.user)
    return render(
        request,
        "tickets.html",
        signed_in,
        refresh=REFRESH_SECONDS,
        found=found,
        wanted=wanted,
        state=wanted.state,
        choices=list(STATE_CHOICES),
        customers=customers,
        priorities=priorities,
        levels=read.queue.LEVELS,
        sorts=read.queue.SORTS,
        link=lambda **changes: _queue_link(params, **changes),
        status_name=lambda code: Status(code).name,
    )


def _queue_link(params: dict[str, str], **changes: object) -> str:
    """Return the queue's URL with `changes` applied to the current parameters (empty ones dropped)."""
    merged = {**params, **{k: str(v) for k, v in changes.items()}}
    return "/tickets?" + urlencode({k: v for k, v in merged.items() if v})


def offered_actions(ticket: TicketView) -> list[tuple[str, str]]:
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
    return [(name, label) for name, label in LABELS.items() if wanted[name] and name in tickets.ACTIONS]


def _ticket_page(
    request: Request,
    db: Session,
    signed_in: Viewer,
    ticket_id: int,
    status_code: int = 200,
    message: str = "",
) -> Response:
    try:
        ticket = read.tickets.one(db, signed_in.user, ticket_id)
    except NotFound:
        return error_page(request, signed_in, 404, "No such ticket.")
    return render(
        request,
        "ticket.html",
        signed_in,
        status_code,
        ticket=ticket,
        actions=offered_actions(ticket),
        deliveries=read.tickets.deliveries(db, signed_in.user, ticket_id),
        message=message,
    )


@router.get("/tickets/{ticket_id}")
def ticket_detail(request: Request, db: DB, signed_in: Viewing, ticket_id: str) -> Response:
    """Show a ticket, its history and (for provider accounts) the forms to work it."""
    number = ticket_number(ticket_id)
    if number is None:
        return error_page(request, signed_in, 404, "No such ticket.")
    return _ticket_page(request, db, signed_in, number)


BULK_LIMIT = 200  # the queue's largest page


@router.post("/tickets/bulk")
def bulk_action(
    request: Request,
    db: DB,
    now: Now,
    signed_in: Viewing,
    csrf: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "",
    ticket: Annotated[list[str] | None, Form()] = None,
    message: Annotated[str, Form(max_length=MESSAGE_LIMIT)] = "",
) -> Response:
    """Acknowledge the tickets ticked in the queue, each as its own action (one refusal stops no other)."""
    if not signed_in.csrf_valid(csrf):
        return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
    if action != "acknowledge":
        return error_page(request, signed_in, 422, "action: only acknowledge works on several tickets.")
    numbers = [n for n in (ticket_number(t) for t in (ticket or [])) if n is not None]
    if not numbers or len(numbers) > BULK_LIMIT:
        return error_page(request, signed_in, 422, f"Tick between 1 and {BULK_LIMIT} tickets.")
    done, refused = [], []
    for number in dict.fromkeys(numbers):
        try:
            with db.begin_nested():
                tickets.act(db, signed_in.user, number, action, now, message.replace("\x00", "\ufffd"))
            done.append(number)
        except ServiceError as exc:
            refused.append((number, str(exc)))
    db.commit()
    return render(request, "bulk.html", signed_in, done=done, refused=refused, label=LABELS[action])


@router.post("/tickets/{ticket_id}/{action}")
def ticket_action(
    request: Request,
    db: DB,
    now: Now,
    signed_in: Viewing,
    ticket_id: str,
    action: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    message: Annotated[str, Form()] = "",
) -> Response:
    """Acknowledge, comment on or resolve a ticket from its page, then show the page again."""
    if not signed_in.csrf_valid(csrf):
        return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
    number = ticket_number(ticket_id)
    if number is None:
        return error_page(request, signed_in, 404, "No such ticket or action.")
    if len(message) > MESSAGE_LIMIT:
        return _ticket_page(
            request, db, signed_in, number, 422, f"Keep it under {MESSAGE_LIMIT} characters."
        )
    try:
        tickets.act(db, signed_in.user, number, action, now, message.replace("\x00", "\ufffd"))
    except NotFound:
        return error_page(request, signed_in, 404, "No such ticket or action.")
    except ServiceError as exc:
        db.rollback()
        if status_of(exc) == 403:
            return refusal_page(request, signed_in, exc)
        return _ticket_page(request, db, signed_in, number, status_of(exc), str(exc))
    db.commit()
    return redirect(f"/tickets/{number}")
