"""The shell around `domain.diagnostics`: queue, deliver, finish, cancel and expire playbook jobs; audit.

Parameters are validated against the playbook the agent reported holding (its parameter declarations,
checked with the same `fernwart.playbook` code the agent runs), so a job the agent would refuse is
refused here already; the agent checks again. Every request, refusal and outcome is audited.

A job `via` ssh is run by the collector itself over SSH (`services.ssh_jobs`) with a playbook of the
collector's own playbooks directory: same states, permissions, audit and ticket history; in place of the
agent's allow_repairs the host's SSH target must allow repairs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fernwart.agent.playbooks.library import held_entry
from fernwart.collector.domain.diagnostics import (
    ACTIVE_STATES,
    DEFAULT_EXPIRY,
    MAX_EXPIRY,
    REPORTED_STATES,
    JobState,
    refusal,
)
from fernwart.collector.domain.tickets import TicketEventKind
from fernwart.collector.models import AuditEntry, Host, HostPlaybooks, HostSSHTarget, Job, JobEvent, Ticket
from fernwart.collector.services import history, job_wakeup
from fernwart.collector.services.auth import Account
from fernwart.collector.services.contracts import contract_of
from fernwart.collector.services.errors import Conflict, Forbidden, Invalid, NotFound
from fernwart.playbook.model import TIMEOUT_LIMIT, Playbook
from fernwart.playbook.params import ParamError, parse_params, validate_params
from fernwart.playbook.problems import Problems

VIA_AGENT, VIA_SSH = "agent", "ssh"  # who runs a job: the host's agent, or the collector over SSH
# longer than any playbook may run (model.TIMEOUT_LIMIT) plus connecting: an SSH job still active then
# was left by a collector that stopped
SSH_JOB_LEASE = timedelta(seconds=TIMEOUT_LIMIT + 600)
RESULT_LIMIT = 512 * 1024  # characters of step output kept per job
HISTORY_LIMIT = 8000  # characters of output copied into a ticket's history


@dataclass(frozen=True)
class JobView:
    id: str
    host_id: str
    playbook: str
    version: int
    digest: str
    kind: str
    params: dict[str, Any]
    state: str
    via: str
    ticket_id: int | None
    requested_by: str
    created_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    error: str
    result: dict[str, Any] | None
    events: list[dict[str, Any]]


def report_held(session: Session, host: Host, held: list[dict[str, Any]], allow_repairs: bool,
                now: datetime, checks: list[dict[str, Any]] | None = None) -> None:
    """Store what the agent says it holds, and its checks' auto-diagnosis settings (replacing the last)."""
    row = session.get(HostPlaybooks, host.id)
    if row is None:
        session.add(HostPlaybooks(host_id=host.id, allow_repairs=allow_repairs, held=held, reported_at=now,
                                  checks=checks or []))
    else:
        row.allow_repairs, row.held, row.reported_at, row.checks = allow_repairs, held, now, checks or []


def queue(
    session: Session, account: Account, host_id: str, playbook: str, params: Mapping[str, object],
    now: datetime, *, ticket_id: int | None = None, expires_in: timedelta | None = None,
    via: str = VIA_AGENT, collector_playbooks: Mapping[str, Playbook] | None = None,
) -> JobView:
    """Queue `playbook` for the host; raise NotFound, Forbidden or Invalid (nothing is queued then).

    `via` ssh takes the playbook from `collector_playbooks` (the collector's own) instead of what the
    agent reported, and needs the host's SSH target to allow repairs for a repair playbook.
    """
    host = session.get(Host, host_id)
    if host is None or (account.customer_id is not None and host.customer_id != account.customer_id):
        raise NotFound(f"host {host_id!r} not found")
    if account.is_customer:
        raise Forbidden("customer accounts may not run playbooks")
    if via not in (VIA_AGENT, VIA_SSH):
        raise Invalid(f"via: expected {VIA_AGENT} or {VIA_SSH}, got {via!r}")
    expiry = expires_in if expires_in is not None else DEFAULT_EXPIRY
    if not timedelta(seconds=1) <= expiry <= MAX_EXPIRY:
        raise Invalid(f"expires_in: expected 1 second to {MAX_EXPIRY.days} days")
    held: dict[str, Any] | None
    if via == VIA_SSH:
        if host.revoked_at is not None:
            raise Forbidden(f"host {host.name!r} is revoked; nothing runs on it")
        held, allows_repairs = _collector_held(session, host, playbook, collector_playbooks or {})
    else:
        reported = session.get(HostPlaybooks, host.id)
        held = next((p for p in (reported.held if reported else []) if p.get("name") == playbook), None)
        if held is None:
            names = ", ".join(sorted(p["name"] for p in reported.held)) if reported else "none reported yet"
            raise Invalid(f"playbook: host {host.name!r} does not hold a playbook {playbook!r} "
                          f"(it holds: {names})")
        allows_repairs = bool(reported and reported.allow_repairs)
    contract = contract_of(session, host.customer_id)
    why = refusal(kind=str(held["kind"]), role=account.role, is_customer=account.is_customer,
                  contract_kind=contract.contract.kind if contract else None,
                  agent_allows_repairs=allows_repairs)
    if why is not None and via == VIA_SSH:
        why = why.replace("this host's agent does not allow repairs (allow_repairs in its config)",
                          "this host's SSH target does not allow repairs (fernwart-collector ssh target "
                          "--allow-repairs)")
    if why is not None:
        _audit(session, now, account.name, "refused", host.id, None, held, dict(params), why)
        session.commit()  # the refusal stays in the audit log although the request fails
        raise Forbidden(why)
    problems = Problems()
    declared = parse_params(held.get("params") or {}, "params", problems)
    try:
        values = validate_params(declared, params)
    except ParamError as exc:
        raise Invalid("params: " + "; ".join(exc.problems), exc.problems) from None
    if ticket_id is not None:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or ticket.host_id != host.id:
            raise Invalid(f"ticket: #{ticket_id} is not a ticket of host {host.name!r}")
    job = new_job(session, host.id, held, dict(values), now, expiry, account.name, ticket_id, via=via)
    return view(session, job)


def new_job(session: Session, host_id: str, held: Mapping[str, Any], values: dict[str, Any], now: datetime,
            expiry: timedelta, requested_by: str, ticket_id: int | None, opening_event_id: int | None = None,
            via: str = VIA_AGENT) -> Job:
    """Insert a queued job for checked parameters, with its first event and audit entry; wake the agent
    when the transaction commits. Raises IntegrityError for a second job of one ticket opening."""
    job = Job(
        id=str(uuid.uuid4()), host_id=host_id, playbook=str(held["name"]), version=int(held["version"]),
        digest=str(held["hash"]), kind=str(held["kind"]), params=values, state=JobState.QUEUED.value,
        via=via, ticket_id=ticket_id, requested_by=requested_by, created_at=now, expires_at=now + expiry,
        error="", opening_event_id=opening_event_id,
    )
    session.add(job)
    session.flush()
    _event(session, job, JobState.QUEUED, now, f"by {requested_by}" + (" over SSH" if via == VIA_SSH else ""))
    _audit(session, now, requested_by, "queued", host_id, job.id, held, values, "")
    if via == VIA_AGENT:
        job_wakeup.announce(session, host_id)  # its waiting agent is woken when this commits
    return job


def _collector_held(session: Session, host: Host, playbook: str,
                    playbooks: Mapping[str, Playbook]) -> tuple[dict[str, Any], bool]:
    """Return the collector's own playbook as an agent's held entry, and whether SSH repairs are allowed."""
    found = playbooks.get(playbook)
    if found is None:
        names = ", ".join(sorted(playbooks)) or "none"
        raise Invalid(f"playbook: the collector holds no playbook {playbook!r} to run over SSH "
                      f"(it holds: {names})")
    target = session.get(HostSSHTarget, host.id)
    return held_entry(found), bool(target and target.allow_repairs)


def jobs_of_host(session: Session, account: Account, host_id: str, limit: int = 100) -> list[JobView]:
    """Return the host's jobs, newest first (technicians only)."""
    _technician(account)
    rows = session.scalars(select(Job).where(Job.host_id == host_id).order_by(Job.created_at.desc())
                           .limit(limit))
    return [view(session, j) for j in rows]


def job(session: Session, account: Account, job_id: str) -> JobView:
    """Return one job with its state history and result; NotFound for customers and unknown ids."""
    found = session.get(Job, job_id)
    if found is None or account.is_customer:
        raise NotFound(f"job {job_id!r} not found")
    return view(session, found)


def cancel(session: Session, account: Account, job_id: str, now: datetime) -> JobView:
    """Cancel a job: a queued one at once; for a delivered or running one ask its agent, which kills the
    run's process group and reports `cancelled`. Conflict for a job that has ended."""
    _technician(account)
    found = session.get(Job, job_id)
    if found is None:
        raise NotFound(f"job {job_id!r} not found")
    if _move(session, found, (JobState.QUEUED,), JobState.CANCELLED, now, f"by {account.name}"):
        _audit_job(session, now, account.name, "cancelled", found, "")
        return view(session, found)
    if JobState(found.state) not in ACTIVE_STATES:
        raise Conflict(f"job {job_id} is {found.state}; it has ended and cannot be cancelled")
    if found.cancel_requested_at is None:
        found.cancel_requested_at = now
        session.add(JobEvent(job_id=found.id, at=now, state=found.state,
                             message=f"cancel requested by {account.name}"))
        _audit_job(session, now, account.name, "cancel_requested", found, "")
        job_wakeup.announce(session, cancel_key(found.id))  # the agent's cancel watch wakes on commit
    return view(session, found)


def cancel_key(job_id: str) -> str:
    """Return the wake-up key an agent's cancel watch for `job_id` waits on."""
    return f"cancel:{job_id}"


def cancel_requested(session: Session, host: Host, job_id: str) -> bool | None:
    """Return whether a cancel was asked for the host's job, None once it has ended (NotFound for
    another host's job)."""
    found = _agent_job(session, host, job_id)
    if JobState(found.state) not in ACTIVE_STATES:
        return None
    return found.cancel_requested_at is not None


def expire(session: Session, now: datetime, host_id: str | None = None) -> int:
    """Move queued jobs past their expiry to expired; return how many."""
    query = select(Job).where(Job.state == JobState.QUEUED.value, Job.expires_at <= now)
    if host_id is not None:
        query = query.where(Job.host_id == host_id)
    count = 0
    for found in session.scalars(query).all():
        if _move(session, found, (JobState.QUEUED,), JobState.EXPIRED, now, "not delivered before expiry"):
            _audit_job(session, now, "system", "expired", found, "")
            count += 1
    return count


def deliver(session: Session, host: Host, now: datetime) -> Job | None:
    """Hand the host's oldest queued job to its agent, at most once (compare-and-set); None if none."""
    expire(session, now, host.id)
    for candidate in session.scalars(select(Job).where(Job.host_id == host.id, Job.state == "queued",
                                                       Job.via == VIA_AGENT)
                                     .order_by(Job.created_at)).all():
        if _move(session, candidate, (JobState.QUEUED,), JobState.DELIVERED, now, ""):
            candidate.delivered_at = now
            return candidate
    return None


def claim_ssh_job(session: Session, now: datetime) -> Job | None:
    """Take the oldest queued job that runs over SSH (queued -> delivered, compare-and-set, so one
    collector of several takes it); None when there is none.

    SSH jobs taken longer ago than any playbook may run (SSH_JOB_LEASE) are ended first as failed:
    the collector that ran them stopped in the middle; like an agent's restart, they are never rerun.
    """
    for stuck in session.scalars(select(Job).where(
            Job.via == VIA_SSH, Job.state.in_([s.value for s in ACTIVE_STATES]),
            Job.delivered_at <= now - SSH_JOB_LEASE)).all():
        record_result(session, stuck, str(uuid.uuid4()), {
            "state": JobState.FAILED.value, "steps": [],
            "error": "interrupted: the collector running it over SSH stopped before it ended"}, now)
    # past its expiry a job is not run; the periodic sweep marks it expired
    for candidate in session.scalars(select(Job).where(Job.via == VIA_SSH, Job.state == "queued",
                                                       Job.expires_at > now)
                                     .order_by(Job.created_at).limit(20)).all():
        if _move(session, candidate, (JobState.QUEUED,), JobState.DELIVERED, now,
                 "taken by the collector to run over SSH"):
            candidate.delivered_at = now
            return candidate
    return None


def ssh_job_running(session: Session, found: Job, now: datetime, message: str) -> bool:
    """Record that the collector started the SSH job (delivered -> running)."""
    if _move(session, found, (JobState.DELIVERED,), JobState.RUNNING, now, message):
        found.started_at = now
        return True
    return False


def started(session: Session, host: Host, job_id: str, now: datetime) -> None:
    """Record that the agent started the job (delivered -> running); a late or repeated call is ignored."""
    found = _agent_job(session, host, job_id)
    if _move(session, found, (JobState.DELIVERED,), JobState.RUNNING, now, ""):
        found.started_at = now


def finish(session: Session, host: Host, job_id: str, result_id: str, result: dict[str, Any],
           now: datetime) -> bool:
    """Store the agent's result once per result id; return False for a repeat of a stored result."""
    return record_result(session, _agent_job(session, host, job_id), result_id, result, now)


def record_result(session: Session, found: Job, result_id: str, result: dict[str, Any],
                  now: datetime) -> bool:
    """Store a run's result once per result id: final state, capped output, audit, ticket history.

    Return False for a repeat of a stored result; raise Invalid for a state a run cannot report and
    Conflict for a job that takes no result (not delivered or running).
    """
    if found.result_id == result_id:
        return False
    try:
        state = JobState(result.get("state", "failed"))
    except ValueError:
        state = JobState.QUEUED  # not a state an agent reports: refused below
    if state not in REPORTED_STATES:
        raise Invalid(f"state: expected one of {', '.join(sorted(REPORTED_STATES))}")
    if state == JobState.CANCELLED and found.cancel_requested_at is None:
        raise Invalid("state: cancelled, but nobody asked to cancel this job")
    error = str(result.get("error", ""))[:2000]
    if not _move(session, found, tuple(ACTIVE_STATES), state, now, error):
        raise Conflict(f"job {found.id} is {found.state}; it takes no result")
    found.result_id, found.result, found.error = result_id, _capped(result), error
    job_wakeup.announce(session, cancel_key(found.id))  # the agent's cancel watch ends with the job
    found.finished_at = now
    if found.started_at is None and state != JobState.REFUSED:
        found.started_at = now
    outcome = state.value + (f": {error}" if error else "")
    _audit_job(session, now, found.requested_by, "finished", found, outcome)
    if found.ticket_id is not None:
        ticket = session.get(Ticket, found.ticket_id)
        if ticket is not None:
            history.append(session, ticket, TicketEventKind.DIAGNOSTIC, now, actor=found.requested_by,
                           message=_history_text(found, result))
    return True


def audit_log(session: Session, account: Account, limit: int = 200) -> list[dict[str, Any]]:
    """Return the newest audit entries first (technicians only)."""
    _technician(account)
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    return [{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action, "host_id": r.host_id,
             "job_id": r.job_id, "playbook": r.playbook, "version": r.version, "hash": r.digest,
             "params": r.params, "outcome": r.outcome} for r in rows]


def view(session: Session, found: Job) -> JobView:
    events = session.scalars(select(JobEvent).where(JobEvent.job_id == found.id).order_by(JobEvent.id))
    return JobView(
        id=found.id, host_id=found.host_id, playbook=found.playbook, version=found.version,
        digest=found.digest, kind=found.kind, params=found.params, state=found.state, via=found.via,
        ticket_id=found.ticket_id, requested_by=found.requested_by, created_at=found.created_at,
        expires_at=found.expires_at, delivered_at=found.delivered_at, started_at=found.started_at,
        finished_at=found.finished_at, cancel_requested_at=found.cancel_requested_at, error=found.error,
        result=found.result,
        events=[{"at": e.at, "state": e.state, "message": e.message} for e in events],
    )


def _technician(account: Account) -> None:
    if account.is_customer:
        raise Forbidden("customer accounts may not see or run playbook jobs")


def _agent_job(session: Session, host: Host, job_id: str) -> Job:
    found = session.get(Job, job_id)
    if found is None or found.host_id != host.id or found.via != VIA_AGENT:
        raise NotFound(f"job {job_id!r} not found for this host")
    return found


def _move(session: Session, found: Job, sources: tuple[JobState, ...], target: JobState, now: datetime,
          message: str) -> bool:
    """Compare-and-set the job's state; record the change with its time when it happened."""
    moved = session.execute(
        update(Job).where(Job.id == found.id, Job.state.in_([s.value for s in sources]))
        .values(state=target.value).execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(found)
        return False
    found.state = target.value
    _event(session, found, target, now, message)
    return True


def _event(session: Session, found: Job, state: JobState, now: datetime, message: str) -> None:
    session.add(JobEvent(job_id=found.id, at=now, state=state.value, message=message))


def _audit(session: Session, now: datetime, actor: str, action: str, host_id: str, job_id: str | None,
           held: Mapping[str, Any], params: dict[str, Any], outcome: str) -> None:
    session.add(AuditEntry(at=now, actor=actor, action=action, host_id=host_id, job_id=job_id,
                           playbook=str(held.get("name", ""))[:64], version=held.get("version"),
                           digest=str(held.get("hash", ""))[:64], params=params, outcome=outcome))


def _audit_job(session: Session, now: datetime, actor: str, action: str, found: Job, outcome: str) -> None:
    held = {"name": found.playbook, "version": found.version, "hash": found.digest}
    _audit(session, now, actor, action, found.host_id, found.id, held, found.params, outcome)


def _capped(result: dict[str, Any]) -> dict[str, Any]:
    steps, left = [], RESULT_LIMIT
    for step in result.get("steps") or []:
        output = str(step.get("output", ""))
        kept = output[: max(0, left)]
        left -= len(kept)
        cut = bool(step.get("truncated")) or len(kept) < len(output)
        steps.append({**step, "output": kept, "truncated": cut})
    return {**result, "steps": steps}


def _history_text(found: Job, result: Mapping[str, Any]) -> str:
    lines = [f"playbook {found.playbook} v{found.version} ({found.kind}): {result.get('state')}"
             + (f" - {result.get('error')}" if result.get("error") else "")]
    for step in result.get("steps") or []:
        lines.append(f"== {step.get('name')} {step.get('status')}"
                     + (" (truncated)" if step.get("truncated") else ""))
        lines.append(str(step.get("output", "")).rstrip())
    return "\n".join(lines)[:HISTORY_LIMIT]
