"""Endpoints agents call: enrollment and reports (results and heartbeats)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector import deps
from fernwart.collector.api.inputs import RawBody, parse_body, request_body
from fernwart.collector.api.schemas import (
    EnrollIn,
    EnrollOut,
    HostFactsIn,
    ReportIn,
    ReportOut,
    RotateOut,
)
from fernwart.collector.deps import DB, Now
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.services import auth, hostfacts, identity, ingest
from fernwart.collector.services.group_commit import WriteJob
from fernwart.protocol import INSTANCE_HEADER

router = APIRouter(prefix="/api/v1", tags=["agents"])


@router.post("/enroll", status_code=201, response_model=EnrollOut)
def enroll(body: EnrollIn, request: Request, db: DB, now: Now) -> EnrollOut:
    """Register a host with an enrollment token and hand out its own agent token."""
    instance = identity.valid_instance(request.headers.get(INSTANCE_HEADER))
    with deps.checking_credentials(request, now, "enrollment token"):
        result = auth.enroll(db, body.token, body.hostname, body.os, body.agent_version, now, body.replace,
                             instance)
    if body.facts is not None:
        hostfacts.report_for(db, result.host_id, body.facts.stored(), now)
    db.commit()
    return EnrollOut(
        host_id=result.host_id, agent_token=result.agent_token, heartbeat_interval=result.heartbeat_interval
    )


@router.post("/reports", response_model=ReportOut, openapi_extra=request_body(ReportIn))
async def report(request: Request) -> Response:
    """Store a batch of results (or a heartbeat) from the agent that owns `host_id`.

    The token is checked (and the host's row locked) before a byte of the body is parsed. The work runs
    on the collector's writer thread, committed together with concurrent reports (`GroupCommit`); the
    answer is sent after the commit.
    """
    started = time.perf_counter()
    now = deps.request_now(request)
    raw = await request.body()
    state = request.app.state
    instance = identity.valid_instance(request.headers.get(INSTANCE_HEADER))
    with deps.checking_credentials(request, now, "API token"):
        token = deps.bearer(request)
        job = ReportJob(token, raw, now, state.policy, state.settings.result_max_age, instance)
        outcome = await asyncio.wrap_future(
            state.writer.submit(WriteJob(job.prepare, job.apply, order=auth.hash_token(token), size=len(raw)))
        )
    state.metrics.observe_ingest(outcome, time.perf_counter() - started)
    return JSONResponse({"accepted": outcome.accepted, "duplicates": outcome.duplicates})


@dataclass(frozen=True)
class ReportJob:
    """One agent report as a writer job: authenticate and validate (may refuse), then ingest."""

    token: str
    raw: bytes
    now: datetime
    policy: TicketPolicy
    max_age: timedelta
    instance: str | None = None

    def prepare(self, db: Session) -> ingest.CheckedReport:
        host = ingest.authenticate(db, self.token, settle=False)
        # another instance is refused; the note of the refused instance (or a first binding) is
        # committed with the group, as a refused job's answer does not roll its group back
        identity.check_instance(host, self.instance, self.now)
        body = parse_body(ReportIn, self.raw)
        results = [
            ingest.IncomingResult(
                id=str(r.id),
                check=r.check,
                type=r.type,
                status=Status(r.status),
                summary=r.summary,
                long_output=r.long_output,
                metrics=[m.model_dump() for m in r.metrics],
                observed_at=r.observed_at,
                duration=r.duration,
                interval=r.interval,
                max_attempts=r.max_attempts,
            )
            for r in body.results
        ]
        ingest.check_report(host, str(body.host_id), results, self.now, self.max_age)
        return ingest.CheckedReport(host, results, body.heartbeat_interval)

    def apply(self, db: Session, report: ingest.CheckedReport) -> ingest.IngestOutcome:
        outcome = ingest.ingest(db, report.host, report.results, report.heartbeat_interval, self.now,
                                self.policy)
        auth.settle_rotation(report.host, self.token)
        return outcome


@router.post("/agent/rotate", response_model=RotateOut)
def rotate(request: Request, db: DB, now: Now) -> RotateOut:
    """Issue the calling agent a new token; the old one keeps working until the new one is used."""
    token = deps.bearer(request)
    host = ingest.authenticate(db, token)
    own_instance(request, db, host, now)
    new = auth.rotate_agent_token(host, token, now)
    db.commit()
    return RotateOut(agent_token=new)


@router.put("/agent/facts", status_code=204, openapi_extra=request_body(HostFactsIn))
def facts(raw: RawBody, request: Request, db: DB, now: Now) -> Response:
    """Store what the agent reports about its host: version, OS, kernel, hostname, addresses, SSH keys."""
    with deps.checking_credentials(request, now, "API token"):
        host = ingest.authenticate(db, deps.bearer(request))
    own_instance(request, db, host, now)
    hostfacts.report(db, host, parse_body(HostFactsIn, raw).stored(), now)
    db.commit()
    return Response(status_code=204)


def own_instance(request: Request, db: Session, host: Any, now: datetime) -> None:
    """Refuse (409) a request from another agent instance than the host's own; the refusal is committed
    first, so the host shows the refused instance."""
    instance = identity.valid_instance(request.headers.get(INSTANCE_HEADER))
    try:
        identity.check_instance(host, instance, now)
    except identity.InstanceConflict:
        db.commit()
        raise
