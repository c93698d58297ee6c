"""Reading hosts, their checks and results, the problems list and the maintenance log, scoped by account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.rollups import (
    FIVE_MINUTES,
    HOURLY,
    Point,
    RawResult,
    Values,
    bucket_of,
    merge_points,
)
from fernwart.collector.models import (
    CheckState,
    Customer,
    Host,
    HostFacts,
    MaintenanceLog,
    MetricRollup,
    Result,
)
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Invalid, NotFound
from fernwart.collector.services.hostfacts import ReportedHostKey, reported_host_keys
from fernwart.collector.services.read.scope import customer, visible
from fernwart.protocol import HOST_CHECK


@dataclass(frozen=True)
class HostView:
    id: str
    name: str
    customer: str | None
    state: str
    criticality: str
    os: str
    agent_version: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    heartbeat_interval: int
    checks: dict[str, int]  # status name -> count
    approval: str = "none"  # none | pending | approved (services.identity)
    approved_at: datetime | None = None
    approved_by: str | None = None
    agent_instance: str | None = None
    instance_conflict: str | None = None
    instance_conflict_at: datetime | None = None


def _host_view(host: Host, customer_name: str | None, checks: dict[str, int]) -> HostView:
    return HostView(
        id=host.id,
        name=host.name,
        customer=customer_name,
        state=host.state,
        criticality=host.criticality,
        os=host.os,
        agent_version=host.agent_version,
        enrolled_at=host.enrolled_at,
        last_seen_at=host.last_seen_at,
        heartbeat_interval=host.heartbeat_interval,
        checks=checks,
        approval=host.approval,
        approved_at=host.approved_at,
        approved_by=host.approved_by,
        agent_instance=host.agent_instance,
        instance_conflict=host.instance_conflict,
        instance_conflict_at=host.instance_conflict_at,
    )


def _check_counts(session: Session, host_id: str | None = None) -> dict[str, dict[str, int]]:
    query = select(CheckState.host_id, CheckState.status, func.count()).group_by(
        CheckState.host_id, CheckState.status
    )
    if host_id is not None:
        query = query.where(CheckState.host_id == host_id)
    counts: dict[str, dict[str, int]] = {}
    for found, status, n in session.execute(query):
        counts.setdefault(found, {})[Status(status).name] = n
    return counts


def listed(session: Session, account: Account) -> list[HostView]:
    """Return the hosts the account may see, by name, with counts of their checks by status."""
    rows = session.execute(
        select(Host, Customer.name)
        .outerjoin(Customer, Host.customer_id == Customer.id)
        .where(visible(account))
        .order_by(Host.name)
    ).all()
    counts = _check_counts(session)
    return [_host_view(h, c, counts.get(h.id, {})) for h, c in rows]


def one(session: Session, account: Account, host_id: str) -> HostView:
    """Return one host the account may see; NotFound otherwise."""
    row = session.execute(
        select(Host, Customer.name)
        .outerjoin(Customer, Host.customer_id == Customer.id)
        .where(Host.id == host_id)
        .where(visible(account))
    ).first()
    if row is None:
        raise NotFound(f"host {host_id} not found")
    return _host_view(row[0], row[1], _check_counts(session, host_id).get(host_id, {}))


@dataclass(frozen=True)
class FactsView:
    """A host's facts as its agent last reported them (None before the first report), and its SSH keys."""

    facts: dict[str, Any] | None
    reported_at: datetime | None
    changed_at: datetime | None
    ssh_host_keys: tuple[ReportedHostKey, ...]


def facts(session: Session, account: Account, host_id: str) -> FactsView:
    """Return the reported facts of a host the account may see; NotFound otherwise."""
    one(session, account, host_id)
    row = session.get(HostFacts, host_id)
    keys = tuple(reported_host_keys(session, host_id))
    if row is None:
        return FactsView(None, None, None, keys)
    return FactsView(row.facts, row.reported_at, row.changed_at, keys)


@dataclass(frozen=True)
class CheckView:
    check: str
    type: str
    status: int
    status_name: str
    state_type: str
    attempt: int
    max_attempts: int
    hard_status: str
    interval: int | None
    last_observed_at: datetime
    last_change_at: datetime
    last_hard_change_at: datetime
    summary: str
    last_result_id: str | None
    flapping: bool
    flap_percent: float
    # the host is unreachable: this is the last real result (at last_observed_at), not a current one
    stale: bool = False


def checks(session: Session, account: Account, host_id: str) -> list[CheckView]:
    """Return the current state of every check of a host, its reachability included.

    While the host is unreachable its checks are marked stale (Nagios' host/service dependency): their
    status is the last real result, from `last_observed_at`.
    """
    unreachable = one(session, account, host_id).state == "unreachable"
    states = session.scalars(
        select(CheckState).where(CheckState.host_id == host_id).order_by(CheckState.check_name)
    )
    return [
        CheckView(
            check=s.check_name,
            type=s.check_type,
            status=s.status,
            status_name=Status(s.status).name,
            state_type=s.state_type,
            attempt=s.attempt,
            max_attempts=s.max_attempts,
            hard_status=Status(s.hard_status).name,
            interval=s.interval,
            last_observed_at=s.last_observed_at,
            last_change_at=s.last_change_at,
            last_hard_change_at=s.last_hard_change_at,
            summary=s.last_summary,
            last_result_id=s.last_result_id,
            flapping=s.flapping,
            flap_percent=s.flap_percent,
            stale=unreachable and s.check_name != HOST_CHECK,
        )
        for s in states
    ]


@dataclass(frozen=True)
class ResultView:
    id: str
    check: str
    status: int
    status_name: str
    summary: str
    long_output: str
    metrics: list[dict[str, Any]]
    observed_at: datetime
    received_at: datetime
    duration: float


def results(
    session: Session,
    account: Account,
    host_id: str,
    *,
    check: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> list[ResultView]:
    """Return a host's stored results, newest observation first, optionally of one check and since a time."""
    one(session, account, host_id)
    query = select(Result).where(Result.host_id == host_id)
    if check:
        query = query.where(Result.check_name == check)
    if since is not None:
        if since.tzinfo is None:
            raise Invalid("since: give a time with a UTC offset, e.g. 2026-11-22T10:00:00Z")
        query = query.where(Result.observed_at >= since)
    rows = session.scalars(query.order_by(Result.observed_at.desc(), Result.id).limit(limit))
    return [
        ResultView(
            id=r.id,
            check=r.check_name,
            status=r.status,
            status_name=Status(r.status).name,
            summary=r.summary,
            long_output=r.long_output,
            metrics=r.metrics,
            observed_at=r.observed_at,
            received_at=r.received_at,
            duration=r.duration,
        )
        for r in rows
    ]


CHART_DAYS = (1, 7, 31, 93, 365, 1098)  # the ranges the host page offers for a check's metric history


def metric_history(
    session: Session, account: Account, host_id: str, check: str, since: datetime, now: datetime
) -> tuple[int, dict[str, list[Point]]]:
    """Return the resolution (seconds) and, per metric label, min/avg/max points of one check since `since`.

    Up to two days: 5-minute buckets, longer: hourly. Raw results still stored are bucketed here; beyond
    the raw retention the rollups housekeeping made take over (the two never overlap).
    """
    one(session, account, host_id)
    resolution = FIVE_MINUTES if now - since <= timedelta(days=2) else HOURLY
    raw = [
        RawResult(host_id, check, 0, metrics or [], at)
        for metrics, at in session.execute(
            select(Result.metrics, Result.observed_at).where(
                Result.host_id == host_id, Result.check_name == check, Result.observed_at >= since
            )
        )
    ]
    rolled = [
        (r.bucket, r.metric, Values(r.samples, r.min, r.max, r.total))
        for r in session.scalars(
            select(MetricRollup).where(
                MetricRollup.host_id == host_id,
                MetricRollup.check_name == check,
                MetricRollup.resolution == resolution,
                MetricRollup.bucket >= bucket_of(since, resolution),
            )
        )
    ]
    return resolution, merge_points(raw, rolled, resolution)


@dataclass(frozen=True)
class Problem:
    """A check that is not OK, as the overview lists it."""

    host_id: str
    host: str
    check: str
    status: str
    state_type: str
    attempt: int
    max_attempts: int
    since: datetime
    observed_at: datetime
    summary: str


_SEVERITY = {int(Status.CRITICAL): 0, int(Status.UNKNOWN): 1, int(Status.WARNING): 2}  # as Nagios orders


def problems(session: Session, account: Account, limit: int = 500) -> list[Problem]:
    """Return the non-OK checks the account may see: worst status and HARD first, then longest-standing."""
    rows = session.execute(
        select(CheckState, Host.name)
        .join(Host, CheckState.host_id == Host.id)
        .where(visible(account))
        .where(CheckState.status != int(Status.OK))
        .order_by(
            CheckState.state_type,  # HARD before SOFT
            CheckState.status.desc(),
            CheckState.last_change_at,
            Host.name,
            CheckState.check_name,
        )
        .limit(limit)
    ).all()
    ranked = sorted(rows, key=lambda row: (_SEVERITY.get(row[0].status, 3), row[0].state_type != "HARD"))
    return [
        Problem(
            host_id=state.host_id,
            host=host_name,
            check=state.check_name,
            status=Status(state.status).name,
            state_type=state.state_type,
            attempt=state.attempt,
            max_attempts=state.max_attempts,
            since=state.last_change_at,
            observed_at=state.last_observed_at,
            summary=state.last_summary,
        )
        for state, host_name in ranked
    ]


@dataclass(frozen=True)
class LogEntryView:
    at: datetime
    window: str
    kind: str
    host: str | None
    check: str | None
    message: str


def maintenance_log(session: Session, account: Account, name: str, limit: int = 500) -> list[LogEntryView]:
    """Return a customer's maintenance log, newest first: windows created, tickets and pages held back."""
    found = customer(session, account, name)
    entries = session.execute(
        select(MaintenanceLog, Host.name)
        .outerjoin(Host, MaintenanceLog.host_id == Host.id)
        .where(MaintenanceLog.customer_id == found.id)
        .order_by(MaintenanceLog.at.desc(), MaintenanceLog.id.desc())
        .limit(limit)
    ).all()
    return [
        LogEntryView(
            at=e.at, window=e.window, kind=e.kind, host=host_name or e.host_id, check=e.check_name,
            message=e.message,
        )
        for e, host_name in entries
    ]
