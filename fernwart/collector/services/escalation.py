"""The SLA job: warnings before breach, breaches at the instant they happen, escalation through levels.

Runs periodically (under the PostgreSQL advisory lock when several collectors share a database). For each
open ticket with a contract it evaluates both clocks at `now`: a warning is recorded once when
`warn_before_breach` of a clock is used up, a breach once with the exact instant the clock ran out, and
the ticket rises to the highest level whose share of the resolution time has passed. Each of these
appends a ticket event and queues notifications to the contacts of the ticket's level, except inside a
maintenance window covering the ticket, where the page is logged as held back instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fernwart.collector.domain.calendar import utc_text
from fernwart.collector.domain.clocks import ClockState, escalation_level
from fernwart.collector.domain.contracts import CustomerContract
from fernwart.collector.domain.tickets import OPEN_STATES, TicketEventKind
from fernwart.collector.domain.windows import MaintenanceWindow, covering
from fernwart.collector.models import Customer, Host, Ticket, TicketEvent
from fernwart.collector.notify.base import NotificationKind
from fernwart.collector.services import clocks, history, notifications, windows


@dataclass
class JobOutcome:
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    queued: int = 0
    held_back: list[int] = field(default_factory=list)


def contacts(contract: CustomerContract, level: int) -> tuple[str, ...]:
    """Return the contacts of escalation `level` (none when the chain has no such level)."""
    return next((e.contacts for e in contract.contract.escalation if e.level == level), ())


def page(
    session: Session,
    ticket: Ticket,
    contract: CustomerContract,
    kind: NotificationKind,
    level: int,
    now: datetime,
    *,
    detail: str = "",
    dashboard_url: str = "",
    windows_in_force: Sequence[MaintenanceWindow] | None = None,
) -> int | None:
    """Queue `kind` for the contacts of `level`; return how many notifications were new.

    Inside a maintenance window covering the ticket the page is logged as held back instead, and None
    is returned. `windows_in_force` are the customer's windows when the caller has them loaded already.
    """
    host = session.get(Host, ticket.host_id)
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    if host is not None:
        if windows_in_force is None:
            windows_in_force = windows.windows_of(session, ticket.customer_id)
        window = covering(windows_in_force, host.name, ticket.check_name, now)
        if window is not None:
            windows.log(
                session,
                now,
                ticket.customer_id,
                window.name,
                "page_suppressed",
                host.id,
                ticket.check_name,
                f"ticket #{ticket.id}: {kind.value} {detail}".strip(),
            )
            return None
    return notifications.queue(
        session,
        ticket,
        kind,
        level,
        contacts(contract, level),
        now,
        customer.name if customer else "",
        detail,
        dashboard_url,
        contract.contract.timezone,
    )


def _paged(outcome: JobOutcome, ticket: Ticket, queued: int | None) -> None:
    if queued is None:
        outcome.held_back.append(ticket.id)
    else:
        outcome.queued += queued


def _check_clock(
    session: Session,
    ticket: Ticket,
    contract: CustomerContract,
    c: ClockState,
    now: datetime,
    outcome: JobOutcome,
    dashboard_url: str,
) -> None:
    warned, breached = f"{c.name}_warned_at", f"{c.name}_breached_at"
    if c.warning_at is not None and c.warning_due and getattr(ticket, warned) is None and not c.breached:
        setattr(ticket, warned, c.warning_at)
        history.append(
            session,
            ticket,
            TicketEventKind.SLA_WARNING,
            c.warning_at,
            message=f"{c.name} due {utc_text(c.due)}",
        )
        outcome.warnings += 1
        queued = page(
            session,
            ticket,
            contract,
            NotificationKind.SLA_WARNING,
            ticket.level,
            now,
            detail=c.name,
            dashboard_url=dashboard_url,
        )
        _paged(outcome, ticket, queued)
    if c.breached and c.breached_at is not None and getattr(ticket, breached) is None:
        setattr(ticket, breached, c.breached_at)
        history.append(
            session,
            ticket,
            TicketEventKind.SLA_BREACHED,
            c.breached_at,
            message=f"{c.name} was due {utc_text(c.due)}",
        )
        outcome.breaches += 1
        queued = page(
            session,
            ticket,
            contract,
            NotificationKind.SLA_BREACHED,
            ticket.level,
            now,
            detail=c.name,
            dashboard_url=dashboard_url,
        )
        _paged(outcome, ticket, queued)


def run(session: Session, now: datetime, dashboard_url: str = "") -> JobOutcome:
    """Evaluate every open ticket with a contract at `now`; the caller commits."""
    outcome = JobOutcome()
    open_tickets = session.scalars(
        select(Ticket).where(Ticket.state.in_(OPEN_STATES), Ticket.priority.is_not(None)).order_by(Ticket.id)
    ).all()
    for ticket in open_tickets:
        found = clocks.clocks_of(session, ticket, now)
        if found is None:
            continue
        contract, state = found
        ticket.response_due, ticket.resolution_due = state.response.due, state.resolution.due
        for c in (state.response, state.resolution):
            _check_clock(session, ticket, contract, c, now, outcome, dashboard_url)
        shares = contract.contract.escalation_shares()
        if shares:
            reached = escalation_level(state.resolution, shares)
            if reached.level > ticket.level:
                # A step that fell due before a technician handed the ticket back does not count again.
                handed_back = session.scalar(
                    select(func.max(TicketEvent.at)).where(
                        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == TicketEventKind.HANDED_BACK
                    )
                )
                due_steps = [
                    s
                    for s in reached.steps
                    if s.due <= (state.resolution.stopped_at or now)
                    and (handed_back is None or s.due > handed_back)
                ]
                step = max(due_steps, key=lambda s: s.level, default=None)
                if step is None or step.level <= ticket.level:
                    continue
                ticket.level = step.level
                history.append(
                    session,
                    ticket,
                    TicketEventKind.ESCALATED,
                    step.due,
                    message=f"to level {reached.level}: {step.share:.0%} of the resolution time used",
                )
                outcome.escalations += 1
                queued = page(
                    session,
                    ticket,
                    contract,
                    NotificationKind.ESCALATED,
                    reached.level,
                    now,
                    detail=f"level {reached.level}",
                    dashboard_url=dashboard_url,
                )
                _paged(outcome, ticket, queued)
    return outcome
