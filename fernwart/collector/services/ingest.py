"""Ingest a batch of agent results: store each result id once, ever, then advance check states.

One transaction per batch. The host row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
holds its write lock from ``BEGIN IMMEDIATE``), so two collectors, or a retry racing its original, apply
one host's results one after the other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from fernwart.checks.status import Status
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.models import RESULTS, RESULTS_AHEAD, Host
from fernwart.collector.services import auth, checkstate, identity
from fernwart.collector.services.checkstate import Observation
from fernwart.collector.services.errors import Forbidden, Invalid, Revoked, Unauthenticated
from fernwart.protocol import HOST_CHECK, RESULT_MAX_AGE, RESULT_MAX_AHEAD


def reachability(status: Status, summary: str, at: datetime) -> Observation:
    """Return an observation of the host's reachability pseudo-check (HARD at the first result)."""
    return Observation(
        check_name=HOST_CHECK, status=status, summary=summary, at=at, max_attempts=1, check_type=HOST_CHECK
    )


@dataclass(frozen=True)
class IncomingResult:
    """One validated result from an agent report."""

    id: str
    check: str
    type: str
    status: Status
    summary: str
    long_output: str
    metrics: list[dict[str, Any]]
    observed_at: datetime
    duration: float
    interval: int | None
    max_attempts: int


@dataclass(frozen=True)
class CheckedReport:
    """A report that passed `check_report`: the agent's host (locked) and what to ingest."""

    host: Host
    results: Sequence[IncomingResult]
    heartbeat_interval: int | None


@dataclass(frozen=True)
class IngestOutcome:
    accepted: int
    duplicates: int
    state_changes: int
    tickets_opened: int
    tickets_resolved: int


def lock_host(session: Session, host_id: str) -> Host | None:
    """Return the host with its row locked for this transaction (a no-op lock on SQLite)."""
    return session.scalar(select(Host).where(Host.id == host_id).with_for_update())


def authenticate(session: Session, agent_token: str, settle: bool = True) -> Host:
    """Return the host an agent token belongs to, its row locked for this transaction.

    One query authenticates and locks, which serialises this host's reports. Raise Unauthenticated
    for an unknown token. With `settle` False, a rotation's overlap is left for the caller to end
    (`auth.settle_rotation`) once the request is accepted, so a refused request changes nothing.
    """
    host = auth.host_for_token(session, agent_token, lock=True)
    if host is None:
        raise Unauthenticated("unknown agent token")
    if host.revoked_at is not None:
        raise Revoked(f"host {host.name} was revoked at {host.revoked_at.isoformat(timespec='seconds')}; "
                      "stop sending and enroll again to resume")
    if settle:
        auth.settle_rotation(host, agent_token)
    return host


def receive(
    session: Session,
    host: Host,
    host_id: str,
    results: Sequence[IncomingResult],
    heartbeat_interval: int | None,
    now: datetime,
    policy: TicketPolicy,
    max_age: timedelta = RESULT_MAX_AGE,
) -> IngestOutcome:
    """Ingest an authenticated agent's report for `host_id`; the caller commits.

    Raise Forbidden for a report naming another host, Invalid naming the first result whose observation
    time lies outside the window around `now` (`max_age` back, the protocol's RESULT_MAX_AHEAD ahead);
    nothing of the batch is stored then.
    """
    check_report(host, host_id, results, now, max_age)
    return ingest(session, host, results, heartbeat_interval, now, policy)


def check_report(
    host: Host,
    host_id: str,
    results: Sequence[IncomingResult],
    now: datetime,
    max_age: timedelta = RESULT_MAX_AGE,
) -> None:
    """Refuse a report as `receive` does (Forbidden, Invalid), without touching the database."""
    if host_id != host.id:
        raise Forbidden("this agent token belongs to another host")
    earliest, latest = now - max_age, now + RESULT_MAX_AHEAD
    for index, result in enumerate(results):
        if not _within(result.observed_at, earliest, latest):
            raise Invalid(
                f"results.{index}.observed_at: {result.observed_at.isoformat()} is outside the accepted "
                f"window ({max_age.days} days before to {RESULT_MAX_AHEAD.days} day after the "
                "collector's time)"
            )


def _within(at: datetime, earliest: datetime, latest: datetime) -> bool:
    try:
        return earliest <= at <= latest
    except OverflowError:  # year 1 with an offset east of UTC has no UTC instant
        return False


def ingest(
    session: Session,
    host: Host,
    results: Sequence[IncomingResult],
    heartbeat_interval: int | None,
    now: datetime,
    policy: TicketPolicy,
) -> IngestOutcome:
    """Store new results, apply them in time order, mark the host seen; return what happened.

    Results whose id is already stored (a retried batch) are counted as duplicates and ignored entirely.
    A host waiting for approval has its results stored and its last contact noted, nothing more; an
    approved one applies only observations from its approval time on (`identity.counts`).
    `host` must be locked in this transaction by the caller (`lock_host`, or `auth.host_for_token` with
    lock=True). The caller commits.
    """
    # An agent clock running ahead must not freeze a check: a future observation would make every later
    # (correct) result look like a late replay. Observations are never later than their arrival.
    unique = [
        r if r.observed_at <= now else replace(r, observed_at=now)
        for r in {r.id: r for r in results}.values()
    ]
    ahead = {r.id for r in results if r.observed_at > now}
    stored = _insert_new(session, host.id, unique, now, ahead)
    fresh = [r for r in unique if r.id in stored]
    observations = [
        Observation(
            check_name=r.check,
            status=r.status,
            summary=r.summary,
            at=r.observed_at,
            max_attempts=r.max_attempts,
            check_type=r.type,
            interval=r.interval,
            result_id=r.id,
        )
        for r in fresh
        if identity.counts(host, r.observed_at)
    ]
    seen: dict[str, object] = {"last_seen_at": now}
    if heartbeat_interval:
        seen["heartbeat_interval"] = heartbeat_interval
    counting = identity.counts(host, now)
    if counting:
        seen["state"] = "up"
    if counting and host.state != "up":
        summary = "agent reporting" if host.state == "pending" else "agent reporting again"
        observations.append(reachability(Status.OK, summary, now))
    outcome = checkstate.apply(session, host, observations, now, policy)
    # A Core UPDATE (the row is locked already): an ORM flush of the host costs more than the statement.
    session.execute(
        update(Host).where(Host.id == host.id).values(**seen).execution_options(synchronize_session=False)
    )
    for key, value in seen.items():  # a later report of the host in the same transaction sees it
        set_committed_value(host, key, value)
    return IngestOutcome(
        accepted=len(fresh),
        duplicates=len(results) - len(fresh),
        state_changes=outcome.state_changes,
        tickets_opened=outcome.tickets_opened,
        tickets_resolved=outcome.tickets_resolved,
    )


_PG_INSERT = text(
    """
    INSERT INTO results (id, host_id, check_name, status, summary, long_output, metrics, observed_at,
                         received_at, duration)
    SELECT u.id, :host_id, u.check_name, u.status, u.summary, u.long_output, u.metrics, u.observed_at,
           :received_at, u.duration
    FROM json_to_recordset(CAST(:rows AS json))
         AS u(id text, check_name text, status smallint, summary text, long_output text, metrics json,
              observed_at timestamptz, duration float8)
    WHERE NOT EXISTS (SELECT 1 FROM results_ahead a WHERE a.id = u.id)
    ON CONFLICT (observed_at, id) DO NOTHING
    RETURNING id
    """
)


def _insert_new(
    session: Session, host_id: str, results: Sequence[IncomingResult], now: datetime, ahead: set[str]
) -> set[str]:
    """Insert results, skipping ids already stored; return the ids this call stored.

    On PostgreSQL the key is (observed_at, id) (results are partitioned by time): a retry has the same
    id and time, except where the time was clamped to the arrival (`ahead`); those ids go to
    `results_ahead`, which the insert consults too, so no retry is stored twice.
    """
    if not results:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        # One short statement over a JSON document: psycopg caches and prepares it (a long VALUES list is
        # re-parsed every time), and json.dumps is far cheaper than dumping text arrays.
        rows_json = json.dumps(
            [
                {
                    "id": r.id,
                    "check_name": r.check,
                    "status": int(r.status),
                    "summary": r.summary,
                    "long_output": r.long_output,
                    "metrics": r.metrics,
                    "observed_at": r.observed_at.isoformat(),
                    "duration": r.duration,
                }
                for r in results
            ]
        )
        params = {"host_id": host_id, "received_at": now, "rows": rows_json}
        stored = set(session.connection().execute(_PG_INSERT, params).scalars())
        if clamped := sorted(ahead & stored):
            ahead_rows = [{"id": i, "observed_at": now} for i in clamped]
            session.connection().execute(insert(RESULTS_AHEAD), ahead_rows)
        return stored
    rows = [
        {
            "id": r.id,
            "host_id": host_id,
            "check_name": r.check,
            "status": int(r.status),
            "summary": r.summary,
            "long_output": r.long_output,
            "metrics": r.metrics,
            "observed_at": r.observed_at,
            "received_at": now,
            "duration": r.duration,
        }
        for r in results
    ]
    # executemany of one cached statement (SQLAlchemy batches it as "insertmanyvalues" with RETURNING);
    # building a 100-row VALUES clause per batch instead costs more than the database work.
    statement = sqlite.insert(RESULTS).on_conflict_do_nothing(index_elements=["id"]).returning(RESULTS.c.id)
    return set(session.connection().execute(statement, rows).scalars())
