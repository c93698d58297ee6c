"""Reading what the overview marks on each problem: its customer, its open ticket (and whether someone
acknowledged it), and the maintenance window it is in now, so a technician sees at a glance which
problems are being worked or expected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.domain.tickets import open_key
from fernwart.collector.domain.windows import MaintenanceWindow, covering
from fernwart.collector.models import Customer, Host, Ticket
from fernwart.collector.services import windows
from fernwart.collector.services.auth import Account
from fernwart.collector.services.read.hosts import Problem
from fernwart.collector.services.read.scope import visible


@dataclass(frozen=True)
class ProblemMark:
    customer: str | None
    ticket_id: int | None
    acknowledged: bool
    window: str | None  # the maintenance window covering the check now


def of_problems(
    session: Session, account: Account, problems: Sequence[Problem], now: datetime
) -> dict[tuple[str, str], ProblemMark]:
    """Return (host id, check) -> its mark, for the problems given (three queries, windows per customer)."""
    if not problems:
        return {}
    host_ids = {p.host_id for p in problems}
    hosts = {
        host_id: (name, customer_id, customer)
        for host_id, name, customer_id, customer in session.execute(
            select(Host.id, Host.name, Host.customer_id, Customer.name)
            .outerjoin(Customer, Host.customer_id == Customer.id)
            .where(Host.id.in_(host_ids))
            .where(visible(account))
        )
    }
    keys = [open_key(p.host_id, p.check) for p in problems]
    tickets = {
        key: (ticket_id, acknowledged_at is not None)
        for key, ticket_id, acknowledged_at in session.execute(
            select(Ticket.open_key, Ticket.id, Ticket.acknowledged_at).where(Ticket.open_key.in_(keys))
        )
    }
    in_force: dict[int, list[MaintenanceWindow]] = {}
    marks = {}
    for p in problems:
        if p.host_id not in hosts:
            continue
        name, customer_id, customer = hosts[p.host_id]
        if customer_id is not None and customer_id not in in_force:
            in_force[customer_id] = windows.windows_of(session, customer_id)
        found = in_force.get(customer_id, []) if customer_id is not None else []
        window = covering(found, name, p.check, now)
        ticket_id, acknowledged = tickets.get(open_key(p.host_id, p.check), (None, False))
        marks[(p.host_id, p.check)] = ProblemMark(
            customer, ticket_id, acknowledged, window.name if window else None
        )
    return marks
