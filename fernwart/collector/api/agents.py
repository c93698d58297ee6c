"""Endpoints agents call: enrollment and reports (results and heartbeats)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from fernwart.checks.status import Status
from fernwart.collector import deps
from fernwart.collector.api.inputs import RawBody, parse_body, request_body
from fernwart.collector.api.schemas import EnrollIn, EnrollOut, ReportIn, ReportOut, RotateOut
from fernwart.collector.deps import DB, Now
from fernwart.collector.services import auth, ingest

router = APIRouter(prefix="/api/v1", tags=["agents"])


@router.post("/enroll", status_code=201, response_model=EnrollOut)
def enroll(body: EnrollIn, request: Request, db: DB, now: Now) -> EnrollOut:
    """Register a host with an enrollment token and hand out its own agent token."""
    with deps.checking_credentials(request, now, "enrollment token"):
        result = auth.enroll(db, body.token, body.hostname, body.os, body.agent_version, now, body.replace)
    db.commit()
    return EnrollOut(
        host_id=result.host_id, agent_token=result.agent_token, heartbeat_interval=result.heartbeat_interval
    )


@router.post("/reports", response_model=ReportOut, openapi_extra=request_body(ReportIn))
def report(raw: RawBody, request: Request, db: DB, now: Now) -> ReportOut:
    """Store a batch of results (or a heartbeat) from the agent that owns `host_id`.

    The token is checked (and the host's row locked) before a byte of the body is parsed.
    """
    started = time.perf_counter()
    with deps.checking_credentials(request, now, "API token"):
        host = ingest.authenticate(db, deps.bearer(request))
    body = parse_body(ReportIn, raw)
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
    state = request.app.state
    outcome = ingest.receive(
        db, host, str(body.host_id), results, body.heartbeat_interval, now, state.policy,
        state.settings.result_max_age,
    )
    db.commit()
    request.app.state.metrics.observe_ingest(outcome, time.perf_counter() - started)
    return ReportOut(accepted=outcome.accepted, duplicates=outcome.duplicates)


@router.post("/agent/rotate", response_model=RotateOut)
def rotate(request: Request, db: DB, now: Now) -> RotateOut:
    """Issue the calling agent a new token; the old one keeps working until the new one is used."""
    token = deps.bearer(request)
    host = ingest.authenticate(db, token)
    new = auth.rotate_agent_token(host, token, now)
    db.commit()
    return RotateOut(agent_token=new)
