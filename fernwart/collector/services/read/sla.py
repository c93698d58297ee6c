"""The SLA overview: per customer the viewer may see, this month's availability against the target with the
error budget left, open tickets by level and priority, and the open tickets closest to breach.

The availability figures are `services.availability.report`'s for the current month in the contract's
timezone, measured up to `now`; due times are the ones the SLA clocks stored on the ticket
(`response_due` counts only until the ticket is acknowledged). A customer without a contract shows
its availability without a target.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.domain.availability import Figures, month_period
from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.domain.tickets import OPEN_STATES
from fernwart.collector.models import Customer, Host, Ticket
from fernwart.collector.services import availability
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Invalid

CLOSEST = 10  # tickets listed as closest to breach, over all visible customers


@dataclass(frozen=True)
class DueTicket:
    """An open ticket with the next SLA deadline it faces (response until acknowledged, then resolution)."""

    id: int
    customer: str
    host: str
    check: str
    title: str
    priority: str | None
    level: int
    clock: str
    due: datetime
    seconds_left: float  # negative once breached


@dataclass(frozen=True)
class CustomerSla:
    """One customer's line of the overview."""

    customer: str
    month: str
    timezone: str
    figures: Figures | None  # None when the period could not be measured (the month starts exactly now)
    open_by_level_priority: dict[tuple[int, str], int]
    open_tickets: int


def overview(session: Session, account: Account, now: datetime) -> tuple[list[CustomerSla], list[DueTicket]]:
    """Return each visible customer's SLA line (by name) and the open tickets closest to breach."""
    query = select(Customer.id, Customer.name).order_by(Customer.name)
    if account.customer_id is not None:
        query = query.where(Customer.id == account.customer_id)
    customers = session.execute(query).all()
    open_rows = session.execute(
        select(Ticket, Host.name, Host.customer_id)
        .join(Host, Ticket.host_id == Host.id)
        .where(Ticket.state.in_(OPEN_STATES))
        .where(Host.customer_id.in_([c for c, _ in customers]))
    ).all()
    names = dict(customers)
    counts: dict[int, Counter[tuple[int, str]]] = {c: Counter() for c, _ in customers}
    due: list[DueTicket] = []
    for ticket, host, customer_id in open_rows:
        if customer_id is None:  # excluded by the query; here for the type checker
            continue
        counts[customer_id][(ticket.level, ticket.priority or "-")] += 1
        deadline = _next_deadline(ticket)
        if deadline is not None:
            clock, at = deadline
            due.append(DueTicket(ticket.id, names[customer_id], host, ticket.check_name, ticket.title,
                                 ticket.priority, ticket.level, clock, at, (at - now).total_seconds()))
    lines = []
    for customer_id, name in customers:
        timezone = availability.timezone_of(session, customer_id)
        month = _this_month(now, timezone)
        try:
            found = availability.report(session, name, *month_period(month, timezone), now)
            figures: Figures | None = found.report.figures
        except Invalid:
            figures = None
        tally = counts[customer_id]
        lines.append(
            CustomerSla(name, month, timezone, figures, dict(sorted(tally.items())), sum(tally.values()))
        )
    due.sort(key=lambda d: (d.due, d.id))
    return lines, due[:CLOSEST]


def _next_deadline(ticket: Ticket) -> tuple[str, datetime] | None:
    if ticket.acknowledged_at is None and ticket.response_due is not None:
        return "response", ticket.response_due
    if ticket.resolution_due is not None:
        return "resolution", ticket.resolution_due
    return None


def _this_month(now: datetime, timezone: str) -> str:
    local = now.astimezone(load_zone(timezone))
    return f"{local.year:04d}-{local.month:02d}"
