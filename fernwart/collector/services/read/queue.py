"""Reading the ticket queue: filtered, sorted and paged by offset with a bounded page size.

`read.tickets.listed` stays the API's plain list; the queue adds the columns a technician sorts by
(customer, priority, the next SLA due time) and a mark per ticket: "breached" once either clock is past
its due time, "warning" once the SLA clock has warned, else "". Paging is by offset over a total order
(the sort key, then the ticket id), with the page size capped at `MAX_PAGE_SIZE` and the page number at
`MAX_PAGE`, so a deep page cannot make the database walk an unbounded list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from fernwart.collector.domain.tickets import OPEN_STATES
from fernwart.collector.models import Customer, Host, Ticket
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Invalid
from fernwart.collector.services.read.scope import visible
from fernwart.collector.services.read.tickets import STATE_CHOICES

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE = 10_000
SORTS = ("due", "opened", "priority", "level", "customer", "updated")
LEVELS = (1, 2, 3)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: a state choice, optional level, priority and customer, sort and page."""

    state: str = "open"
    level: int | None = None
    priority: str | None = None
    customer: str | None = None
    sort: str = "due"
    descending: bool = False
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE


def _number(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise Invalid(f"{name}: expected a whole number from {low} to {high}")
    return int(text)


def parse_filter(params: Mapping[str, str]) -> QueueFilter:
    """Return the queue filter in query parameters; raise Invalid naming the first bad one.

    Empty parameters mean "any" (a form submitted with nothing chosen); `sort` may start with "-" for
    descending order.
    """
    state = params.get("state", "") or "open"
    if state not in STATE_CHOICES:
        raise Invalid(f"state: expected one of {', '.join(STATE_CHOICES)}")
    level_text = params.get("level", "")
    level = _number(params, "level", 0, 1, 9) if level_text else None
    sort_text = params.get("sort", "") or "due"
    descending = sort_text.startswith("-")
    sort = sort_text.removeprefix("-")
    if sort not in SORTS:
        raise Invalid(f"sort: expected one of {', '.join(SORTS)} (optionally with a leading -)")
    priority = params.get("priority", "").strip() or None
    customer = params.get("customer", "").strip() or None
    for name, value in (("priority", priority), ("customer", customer)):
        if value is not None and (len(value) > 200 or not value.isprintable()):
            raise Invalid(f"{name}: too long or not printable")
    return QueueFilter(
        state=state,
        level=level,
        priority=priority,
        customer=customer,
        sort=sort,
        descending=descending,
        page=_number(params, "page", 1, 1, MAX_PAGE),
        size=_number(params, "size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    )


@dataclass(frozen=True)
class QueueRow:
    id: int
    host_id: str
    host: str
    customer: str | None
    check: str
    state: str
    title: str
    status: int
    priority: str | None
    level: int
    opened_at: datetime
    due: datetime | None
    due_kind: str  # "response", "resolution" or "" (no clock, or the ticket is no longer open)
    mark: str  # "breached", "warning" or ""


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        """Return the number of pages (at least 1, so an empty queue is page 1 of 1)."""
        return max(1, -(-self.total // self.size))


def _next_due() -> ColumnElement[datetime | None]:
    # The clock that still runs: response until acknowledged, then resolution.
    return case(
        (Ticket.state.not_in(OPEN_STATES), None),
        (Ticket.acknowledged_at.is_(None), func.coalesce(Ticket.response_due, Ticket.resolution_due)),
        else_=Ticket.resolution_due,
    )


def _conditions(account: Account, wanted: QueueFilter) -> list[ColumnElement[bool]]:
    conditions = [visible(account)]
    if wanted.state == "open":
        conditions.append(Ticket.state.in_(OPEN_STATES))
    elif wanted.state != "all":
        conditions.append(Ticket.state == wanted.state)
    if wanted.level is not None:
        conditions.append(Ticket.level == wanted.level)
    if wanted.priority is not None:
        conditions.append(Ticket.priority == wanted.priority)
    if wanted.customer is not None:
        conditions.append(Customer.name == wanted.customer)
    return conditions


def _sort_key(wanted: QueueFilter) -> ColumnElement[Any]:
    keys: dict[str, ColumnElement[Any]] = {
        "due": _next_due(),
        "opened": Ticket.opened_at.expression,
        "priority": Ticket.priority.expression,
        "level": Ticket.level.expression,
        "customer": Customer.name.expression,
        "updated": Ticket.updated_at.expression,
    }
    return keys[wanted.sort]


def _mark(ticket: Ticket) -> str:
    if ticket.response_breached_at is not None or ticket.resolution_breached_at is not None:
        return "breached"
    if ticket.state in OPEN_STATES and (
        ticket.response_warned_at is not None or ticket.resolution_warned_at is not None
    ):
        return "warning"
    return ""


def _due(ticket: Ticket) -> tuple[datetime | None, str]:
    if ticket.state not in OPEN_STATES:
        return None, ""
    if ticket.acknowledged_at is None and ticket.response_due is not None:
        return ticket.response_due, "response"
    if ticket.resolution_due is not None:
        return ticket.resolution_due, "resolution"
    return None, ""


def queue(session: Session, account: Account, wanted: QueueFilter) -> QueuePage:
    """Return one page of the tickets the account may see, filtered and sorted as `wanted` says.

    Tickets without the sort key (no SLA clock, no priority, no customer) come last in either direction;
    ties are broken by ticket id, so paging never shows a ticket twice or skips one while nothing changes.
    """
    conditions = _conditions(account, wanted)
    query = (
        select(Ticket, Host.name, Customer.name)
        .join(Host, Ticket.host_id == Host.id)
        .outerjoin(Customer, Host.customer_id == Customer.id)
        .where(*conditions)
    )
    total = (
        session.scalar(
            select(func.count(Ticket.id))
            .join(Host, Ticket.host_id == Host.id)
            .outerjoin(Customer, Host.customer_id == Customer.id)
            .where(*conditions)
        )
        or 0
    )
    key = _sort_key(wanted)
    ordered = key.desc() if wanted.descending else key.asc()
    tie = Ticket.id.desc() if wanted.descending else Ticket.id.asc()
    rows = session.execute(
        query.order_by(key.is_(None), ordered, tie).offset((wanted.page - 1) * wanted.size).limit(wanted.size)
    ).all()
    out = []
    for ticket, host_name, customer_name in rows:
        due, due_kind = _due(ticket)
        out.append(
            QueueRow(
                id=ticket.id,
                host_id=ticket.host_id,
                host=host_name,
                customer=customer_name,
                check=ticket.check_name,
                state=ticket.state,
                title=ticket.title,
                status=ticket.status,
                priority=ticket.priority,
                level=ticket.level,
                opened_at=ticket.opened_at,
                due=due,
                due_kind=due_kind,
                mark=_mark(ticket),
            )
        )
    return QueuePage(tuple(out), total, wanted.page, wanted.size)


def facets(session: Session, account: Account) -> tuple[list[str], list[str]]:
    """Return the customer names and priorities the account's tickets carry, for the filter form."""
    base = select(Ticket).join(Host, Ticket.host_id == Host.id).where(visible(account)).subquery()
    priorities = session.scalars(
        select(base.c.priority).where(base.c.priority.is_not(None)).distinct().order_by(base.c.priority)
    )
    customers = session.scalars(
        select(Customer.name)
        .join(Host, Host.customer_id == Customer.id)
        .where(visible(account))
        .distinct()
        .order_by(Customer.name)
    )
    return [c for c in customers], [p for p in priorities if p is not None]
