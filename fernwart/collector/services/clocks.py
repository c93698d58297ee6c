"""SLA clocks of tickets: priority at opening, due times from the ticket's history, attainment when stopped.

The clocks are a pure function of the history (`collector.domain.clocks.ticket_clocks`); this module feeds it
the stored events and keeps the derived columns on the ticket current. An attainment (target minus actual,
business minutes) is stored the moment its clock stops and not touched again while it stays stopped; a
reopen resumes the resolution clock, so its attainment waits for the next stop.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain import clocks
from fernwart.collector.domain.clocks import CLOCK_KINDS, ClockEvent, TicketClocks
from fernwart.collector.domain.contracts import CustomerContract, Priority
from fernwart.collector.domain.tickets import TicketEventKind
from fernwart.collector.models import Host, Ticket, TicketEvent
from fernwart.collector.services.contracts import contract_of, current_revision, terms_of


def urgency_of(status: Status) -> str:
    """Return the matrix urgency for a check status (UNKNOWN falls back to critical in the contract)."""
    return {Status.WARNING: "warning", Status.UNKNOWN: "unknown"}.get(status, "critical")


def assign(session: Session, ticket: Ticket, host: Host) -> CustomerContract | None:
    """Set customer, impact, urgency and priority of a new ticket from the host's contract, if any."""
    ticket.customer_id = host.customer_id
    contract = contract_of(session, host.customer_id)
    if contract is None:
        return None
    ticket.contract_revision = current_revision(session, host.customer_id)
    ticket.impact = contract.criticality_of(host.name)
    ticket.urgency = urgency_of(Status(ticket.status))
    ticket.priority = contract.contract.priority_for(ticket.impact, ticket.urgency).name
    return contract


def priority_of(contract: CustomerContract, ticket: Ticket) -> Priority | None:
    """Return the ticket's priority as the contract defines it now, or None when it no longer exists."""
    return next((p for p in contract.contract.priorities if p.name == ticket.priority), None)


def clocks_of(
    session: Session, ticket: Ticket, now: datetime
) -> tuple[CustomerContract, TicketClocks] | None:
    """Return the contract and the ticket's clocks at `now`, or None for a ticket without SLA."""
    if ticket.priority is None:
        return None
    contract = terms_of(session, ticket)
    if contract is None:
        return None
    priority = priority_of(contract, ticket)
    if priority is None:
        return None
    events = [
        ClockEvent(e.at, TicketEventKind(e.kind))
        for e in session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.at, TicketEvent.id)
        )
        if e.kind in CLOCK_KINDS
    ]
    now = max(now, ticket.opened_at, *(e.at for e in events))
    return contract, clocks.ticket_clocks(
        ticket.opened_at,
        priority.targets,
        priority.calendar,
        events,
        now,
        contract.contract.warn_before_breach,
    )


def refresh(session: Session, ticket: Ticket, now: datetime) -> TicketClocks | None:
    """Recompute the ticket's due times and store attainments of clocks that have just stopped."""
    session.flush()
    found = clocks_of(session, ticket, now)
    if found is None:
        return None
    _, state = found
    response, resolution = state.response, state.resolution
    ticket.response_due = response.due
    ticket.resolution_due = resolution.due
    if response.stopped and ticket.response_attainment is None:
        ticket.response_attainment = response.attainment_minutes
    if resolution.stopped:
        if ticket.resolution_attainment is None:
            ticket.resolution_attainment = resolution.attainment_minutes
    else:
        ticket.resolution_attainment = None  # reopened: the resolution clock runs again
    return state  # warnings, breaches and escalations: recorded and paged by services.escalation
