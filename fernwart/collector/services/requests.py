"""Service requests: tickets a customer's account (or a technician for them) opens by hand, about a host
but no check, the way support "on request of the customer" reaches the queue.

A request is a ticket like any other (same states, history, SLA clocks, pages), with the pseudo-check
`SERVICE_REQUEST` and an open key of its own, so a host may have several open requests and no check
result ever resolves one. Its priority follows the contract's rules: impact from the host's criticality,
urgency from what the requester says (`URGENCIES`: "urgent" is the matrix's critical, "normal" its
warning), looked up in the contract's priority matrix; the clocks start at opening in service hours.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.tickets import SERVICE_REQUEST, TicketEventKind, TicketState, request_key
from fernwart.collector.models import Host, Ticket
from fernwart.collector.notify.base import NotificationKind
from fernwart.collector.services import clocks, history
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Invalid, NotFound
from fernwart.collector.services.escalation import page
from fernwart.collector.services.permissions import Permission, require
from fernwart.collector.services.read.scope import visible

# what the requester picks -> the check status whose urgency the contract's matrix knows
URGENCIES = {"normal": Status.WARNING, "urgent": Status.CRITICAL}
TITLE_LIMIT = 200
TEXT_LIMIT = 10000


def open_request(
    session: Session,
    account: Account,
    host_id: str,
    title: str,
    description: str,
    urgency: str,
    now: datetime,
) -> Ticket:
    """Open a service request on a host the account may see; the caller commits.

    Raise NotFound for a host the account may not see, Forbidden when it may not request service,
    Invalid for an empty or overlong title or description or an unknown urgency.
    """
    require(account, Permission.REQUEST_SERVICE)
    host = session.scalar(select(Host).where(Host.id == host_id).where(visible(account)))
    if host is None:
        raise NotFound(f"host {host_id} not found")
    title, description = _clean(title), _clean(description)
    if not title or len(title) > TITLE_LIMIT:
        raise Invalid(f"title: give a title of at most {TITLE_LIMIT} characters")
    if not description.strip() or len(description) > TEXT_LIMIT:
        raise Invalid(f"description: say what is needed, in at most {TEXT_LIMIT} characters")
    if urgency not in URGENCIES:
        raise Invalid(f"urgency: expected one of {', '.join(URGENCIES)}")
    status = URGENCIES[urgency]
    ticket = Ticket(
        host_id=host.id,
        check_name=SERVICE_REQUEST,
        open_key=request_key(host.id, uuid.uuid4().hex),
        state=TicketState.NEW,
        title=f"{host.name}: {title.strip()}"[:500],
        status=int(status),
        level=1,
        occurrences=1,
        opened_at=now,
        updated_at=now,
    )
    contract = clocks.assign(session, ticket, host)
    session.add(ticket)
    session.flush()
    history.append(
        session, ticket, TicketEventKind.OPENED, now, actor=account.name,
        message=f"service request ({urgency}): {description}", status=int(status),
    )
    if contract is not None:
        clocks.refresh(session, ticket, now)
        page(session, ticket, contract, NotificationKind.TICKET_OPENED, ticket.level, now)
    return ticket


def _clean(text: str) -> str:
    """Return `text` with NUL (which PostgreSQL refuses in text) replaced; other text stays as written."""
    return text.replace("\x00", "\ufffd")
