"""Tickets held back by a maintenance window open when the window ends (as Nagios and Checkmk notify
once a downtime ends): a check still HARD failing then gets its ticket, SLA clocks and page from the
window's end, and the maintenance log says so.

Run by the periodic job under its advisory lock, so one collector at a time does it; the host's row is
locked as ingest locks it, and the unique open key keeps one open ticket per (host, check) whoever is
first (ingest opens the same ticket on the check's next result after the window, see
`domain.checkstate.decide_ticket`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.tickets import Action, TicketPolicy, TicketState, decide, open_key
from fernwart.collector.domain.windows import MaintenanceWindow
from fernwart.collector.models import CheckState, Host, Ticket
from fernwart.collector.services import tickets, windows
from fernwart.collector.services.ingest import lock_host

WINDOW_ENDED = "ticket_opened_after_window"


def last_window_end(
    windows_in_force: Sequence[MaintenanceWindow], host: str, check: str, since: datetime, now: datetime
) -> tuple[MaintenanceWindow, datetime] | None:
    """Return the window (and its end) that was last open for `check` on `host` in [since, now], when it
    has ended by `now`; None when none was open then or one is still open at `now`.
    """
    best: tuple[MaintenanceWindow, tuple[datetime, datetime]] | None = None
    for window in windows_in_force:
        if not window.scope.matches(host, check):
            continue
        spans = window.occurrences(since, now)
        if spans and (best is None or spans[-1][1] > best[1][1]):
            best = (window, spans[-1])
    if best is None or best[1][1] >= now or any(w.covers(host, check, now) for w in windows_in_force):
        return None
    return best[0], best[1][1]


def open_after_windows(session: Session, now: datetime, policy: TicketPolicy) -> int:
    """Open (or reopen) the tickets that maintenance windows held back and that are due now they ended.

    A check qualifies when it is HARD in a status that opens tickets, not flapping, has no open ticket,
    and a window covering it was open since its last HARD change and has ended. A ticket resolved after
    that end is left alone (a technician's decision; the next HARD result reopens it). Return how many
    tickets were opened or reopened. The caller commits.
    """
    open_codes = [int(s) for s in policy.open_on]
    candidates = session.execute(
        select(CheckState.host_id, CheckState.check_name)
        .join(Host, Host.id == CheckState.host_id)
        .where(
            Host.customer_id.is_not(None),
            CheckState.state_type == "HARD",
            CheckState.hard_status.in_(open_codes),
            CheckState.flapping.is_(False),
            ~exists().where(
                and_(Ticket.host_id == CheckState.host_id, Ticket.check_name == CheckState.check_name),
                Ticket.open_key.is_not(None),
            ),
        )
    ).all()
    cached: dict[int, list[MaintenanceWindow]] = {}
    opened = 0
    for host_id, check_name in candidates:
        host = lock_host(session, host_id)
        state = session.get(CheckState, (host_id, check_name), populate_existing=True)
        if host is None or host.customer_id is None or state is None:
            continue
        if session.scalar(select(Ticket.id).where(Ticket.open_key == open_key(host_id, check_name))):
            continue  # ingest opened it meanwhile
        if host.customer_id not in cached:
            cached[host.customer_id] = windows.windows_of(session, host.customer_id)
        in_force = cached[host.customer_id]
        ended = last_window_end(in_force, host.name, check_name, state.last_hard_change_at, now)
        if ended is None:
            continue
        window, end = ended
        resolved = session.scalars(
            select(Ticket)
            .where(Ticket.host_id == host_id, Ticket.check_name == check_name)
            .where(Ticket.state == TicketState.RESOLVED)
            .order_by(Ticket.resolved_at.desc())
            .limit(1)
        ).first()
        if resolved is not None and resolved.resolved_at is not None and resolved.resolved_at >= end:
            continue
        status = Status(state.hard_status)
        summary = f"still {status.name} when maintenance window {window.name!r} ended: {state.last_summary}"
        action = decide(status, Status.OK, False, resolved.resolved_at if resolved else None, end, policy)
        if action is Action.REOPEN and resolved is not None:
            tickets.reopen(session, resolved, status, summary, end, now)
        elif action is Action.OPEN:
            tickets.open_ticket(session, host, check_name, status, summary, end, now)
        else:
            continue
        windows.log(session, end, host.customer_id, window.name, WINDOW_ENDED, host_id, check_name, summary)
        opened += 1
    return opened
