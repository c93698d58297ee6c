"""Auto-diagnosis: queue the diagnostic playbook a check or contract names when a ticket opens.

Called in the transaction that opens (or reopens) the ticket, so the job commits with the opening and
the agent is woken right after; its output lands in the ticket's history when the agent reports it.
At most one job per opening (the database's unique `jobs.opening_event_id`); none inside a maintenance
window covering the check; never a repair playbook. Runs are audited with the actor `system`. When a
named playbook cannot run (not held, a repair, parameters that do not fit, inside a window) the
ticket's history says why, so the technician does not wait for output that will not come.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fernwart.collector.domain.auto_diagnosis import choose
from fernwart.collector.domain.diagnostics import DEFAULT_EXPIRY
from fernwart.collector.domain.tickets import TicketEventKind
from fernwart.collector.domain.windows import covering
from fernwart.collector.models import Host, HostPlaybooks, Ticket, TicketEvent
from fernwart.collector.services import history
from fernwart.collector.services.contracts import contract_of
from fernwart.collector.services.diagnostics import new_job
from fernwart.collector.services.windows import windows_of
from fernwart.playbook.params import ParamError, params_from_check, parse_params, validate_params
from fernwart.playbook.problems import Problems

SYSTEM = "system"
log = logging.getLogger(__name__)


def after_opening(session: Session, ticket: Ticket, host: Host, opening: TicketEvent, now: datetime) -> None:
    """Queue the auto-diagnosis of this ticket opening, if one is named and may run."""
    reported = session.get(HostPlaybooks, host.id)
    checks = {str(c.get("name")): c for c in (reported.checks or [])} if reported else {}
    contract = contract_of(session, host.customer_id)
    chosen = choose(ticket.check_name, checks.get(ticket.check_name),
                    contract.contract.on_ticket if contract else ())
    if chosen is None or reported is None:
        return
    name, given = chosen
    window = covering(windows_of(session, host.customer_id), host.name, ticket.check_name, now)
    if window is not None:
        return _note(session, ticket, now, f"{name} not run: inside maintenance window {window.name!r}")
    held = next((p for p in reported.held if p.get("name") == name), None)
    if held is None:
        return _note(session, ticket, now, f"{name} not run: the host's agent does not hold it")
    if held.get("kind") != "diagnostic":
        return _note(session, ticket, now, f"{name} not run: only diagnostic playbooks run by themselves")
    declared = parse_params(held.get("params") or {}, "params", Problems())
    try:
        values = validate_params(declared, params_from_check(declared, checks[ticket.check_name].get(
            "options") or {}, given))
    except ParamError as exc:
        return _note(session, ticket, now, f"{name} not run: parameters: {'; '.join(exc.problems)}")
    session.flush()  # the opening's history entry gets its id: the key of "one run per opening"
    try:
        with session.begin_nested():
            job = new_job(session, host.id, held, dict(values), now, DEFAULT_EXPIRY, SYSTEM, ticket.id,
                          opening_event_id=opening.id)
    except IntegrityError:
        log.info("auto-diagnosis for ticket %s opening %s was queued already", ticket.id, opening.id)
        return None
    history.append(session, ticket, TicketEventKind.DIAGNOSTIC, now, actor=SYSTEM,
                   message=f"auto-diagnosis: {name} v{job.version} queued (job {job.id})")
    return None


def _note(session: Session, ticket: Ticket, now: datetime, message: str) -> None:
    history.append(session, ticket, TicketEventKind.DIAGNOSTIC, now, actor=SYSTEM,
                   message="auto-diagnosis: " + message)
