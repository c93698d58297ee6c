"""Playbook jobs: technicians queue, list, read and cancel them; agents wait for them and report results.

The agent's `GET /api/v1/agent/jobs?wait=N` is a long-poll on the event loop: a waiting agent holds an
`asyncio.Event`, no worker thread (threads are borrowed only for the short database checks at the start
and after each wake-up). A job queued on this collector wakes it after commit; one queued on another
collector on the same PostgreSQL wakes it through LISTEN/NOTIFY (`services.job_wakeup`). The database
is checked again without a wake-up only every `FERNWART_JOB_RECHECK` seconds, as a fallback. A poll
whose agent hung up takes no job, so a job is not handed to a connection nobody reads.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fernwart.collector import deps
from fernwart.collector.api.agents import own_instance
from fernwart.collector.deps import DB, Now, Tech
from fernwart.collector.services import auth, diagnostics, ssh_jobs
from fernwart.collector.services.errors import Unauthenticated
from fernwart.collector.services.job_wakeup import JobWaiters

T = TypeVar("T")
router = APIRouter(prefix="/api/v1", tags=["diagnostics"])
MAX_WAIT = 60
POLL_THREADS = 4  # threads the long-polls' database checks may use at once (of the pool's 40)


class JobIn(BaseModel):
    playbook: str = Field(max_length=64)
    via: Literal["agent", "ssh"] = Field(
        default="agent", description="agent: the host's agent runs a playbook it holds; ssh: the collector "
        "runs its own playbook of that name over SSH")
    params: dict[str, str | int | bool] = Field(default_factory=dict, max_length=50)
    ticket: int | None = None
    expires_in: int | None = Field(default=None, ge=1, le=7 * 86400, description="seconds; default 24 h")


class CheckIn(BaseModel):
    """A check of the agent's config, as far as auto-diagnosis needs it."""

    name: str = Field(min_length=1, max_length=128)
    type: str = Field(default="", max_length=64)
    on_ticket: str | None = Field(default=None, max_length=64)
    params: dict[str, str | int | bool] = Field(default_factory=dict, max_length=50)
    options: dict[str, str | int | bool] = Field(default_factory=dict, max_length=50)


class HeldIn(BaseModel):
    allow_repairs: bool = False
    playbooks: list[dict[str, Any]] = Field(default_factory=list, max_length=500)
    checks: list[CheckIn] = Field(default_factory=list, max_length=1000)


class JobResultIn(BaseModel):
    id: str = Field(min_length=1, max_length=36, description="made by the agent; stored once")
    state: str = Field(max_length=16)
    error: str = Field(default="", max_length=4000)
    duration: float = 0.0
    steps: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


def _out(found: diagnostics.JobView) -> dict[str, Any]:
    return found.__dict__


@router.post("/hosts/{host_id}/jobs", status_code=201)
def queue_job(host_id: str, body: JobIn, request: Request, db: DB, user: Tech, now: Now) -> dict[str, Any]:
    """Queue a playbook for the host's agent, or over SSH (`via`), with typed parameters (expires after
    24 h by default)."""
    expires = timedelta(seconds=body.expires_in) if body.expires_in else None
    held = ssh_jobs.collector_playbooks(request.app.state.settings.effective_playbooks_dir) \
        if body.via == "ssh" else None
    found = diagnostics.queue(db, user, host_id, body.playbook, body.params, now, ticket_id=body.ticket,
                              expires_in=expires, via=body.via, collector_playbooks=held)
    db.commit()  # wakes the host's waiting agent, here or at another collector
    if body.via == "ssh" and request.app.state.ssh_worker is not None:
        request.app.state.ssh_worker.wake()
    return _out(found)


@router.get("/hosts/{host_id}/jobs")
def host_jobs(host_id: str, db: DB, user: Tech) -> list[dict[str, Any]]:
    """List the host's jobs, newest first."""
    return [_out(j) for j in diagnostics.jobs_of_host(db, user, host_id)]


@router.get("/jobs/{job_id}")
def get_job(job_id: str, db: DB, user: Tech) -> dict[str, Any]:
    """Return one job: state history with times, parameters, and each step's output."""
    return _out(diagnostics.job(db, user, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, db: DB, user: Tech, now: Now) -> dict[str, Any]:
    """Cancel a job: a queued one at once; a delivered or running one is stopped by its agent, which
    kills the run's process group and reports `cancelled` (409 for a job that has ended)."""
    found = diagnostics.cancel(db, user, job_id, now)
    db.commit()
    return _out(found)


@router.get("/audit")
def audit(db: DB, user: Tech, limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[dict[str, Any]]:
    """Return the audit log of playbook runs, newest first."""
    return diagnostics.audit_log(db, user, limit)


def _agent_host(request: Request, db: Any) -> Any:
    host = auth.host_for_token(db, deps.bearer(request))
    if host is None:
        raise Unauthenticated("unknown agent token")
    own_instance(request, db, host, _now(request))
    return host


@router.put("/agent/playbooks", status_code=204)
def held_playbooks(body: HeldIn, request: Request, db: DB, now: Now) -> Response:
    """Record the playbooks this agent holds (name, version, hash, kind, params), its repair setting and its
    checks' auto-diagnosis (`on_ticket`, and the options a held playbook takes)."""
    host = _agent_host(request, db)
    diagnostics.report_held(db, host, body.playbooks, body.allow_repairs, now,
                            [c.model_dump() for c in body.checks])
    db.commit()
    return Response(status_code=204)


def _deliver_once(request: Request, token: str) -> tuple[str, dict[str, Any] | None]:
    """Return the agent's host id and its next job (None if none), in one transaction."""
    with request.app.state.sessions() as db:
        host = auth.host_for_token(db, token)
        if host is None:
            raise Unauthenticated("unknown agent token")
        own_instance(request, db, host, _now(request))
        found = diagnostics.deliver(db, host, _now(request))
        db.commit()
        if found is None:
            return str(host.id), None
        return str(host.id), {"id": found.id, "playbook": found.playbook, "version": found.version,
                              "hash": found.digest, "params": found.params}


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def _check(request: Request, token: str) -> tuple[str, dict[str, Any] | None]:
    return await _in_poll_thread(_deliver_once, request, token)


async def _in_poll_thread(func: Callable[..., T], *args: Any) -> T:
    """Run `func` on one of POLL_THREADS threads: polls never take the worker pool's threads all at
    once, so the requests that need them (a job being queued, a report) are not starved."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(POLL_THREADS)
    return await anyio.to_thread.run_sync(func, *args, limiter=limiter)


@router.get("/agent/jobs", responses={204: {"description": "no job came within `wait` seconds"}})
async def agent_jobs(request: Request, wait: Annotated[int, Query(ge=0, le=MAX_WAIT)] = 0) -> Any:
    """Hand the agent its next job, waiting up to `wait` seconds for one; 204 when none came."""
    token = deps.bearer(request)
    deadline = time.monotonic() + wait
    registry: JobWaiters = request.app.state.job_waiters
    recheck: float = request.app.state.settings.job_recheck
    mark = registry.mark()
    host_id, found = await _check(request, token)
    if found is not None or wait == 0:
        return found if found is not None else Response(status_code=204)
    waiter = registry.add(host_id)
    if registry.woken_since(host_id, mark):  # a job was queued while we checked
        waiter.set()
    hung_up = asyncio.ensure_future(_hung_up(request))
    try:
        while (left := deadline - time.monotonic()) > 0:
            woken = asyncio.ensure_future(waiter.wait())
            await asyncio.wait({woken, hung_up}, timeout=min(left, recheck),
                               return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            if hung_up.done():  # nobody would read a job handed out now
                break
            waiter.clear()  # before the check: a wake-up during it makes the next wait return at once
            _, found = await _check(request, token)
            if found is not None:
                return found
        return Response(status_code=204)
    finally:
        registry.remove(host_id, waiter)
        hung_up.cancel()


def _cancel_asked(request: Request, token: str, job_id: str) -> bool | None:
    with request.app.state.sessions() as db:
        host = auth.host_for_token(db, token)
        if host is None:
            raise Unauthenticated("unknown agent token")
        own_instance(request, db, host, _now(request))
        return diagnostics.cancel_requested(db, host, job_id)


@router.get("/agent/jobs/{job_id}/cancel")
async def job_cancel_watch(job_id: str, request: Request,
                           wait: Annotated[int, Query(ge=0, le=MAX_WAIT)] = 0) -> dict[str, bool]:
    """Tell the agent running a job whether it was cancelled, waiting up to `wait` seconds for a cancel;
    `ended` once the job has its result."""
    token = deps.bearer(request)
    deadline = time.monotonic() + wait
    registry: JobWaiters = request.app.state.job_waiters
    recheck: float = request.app.state.settings.job_recheck
    key = diagnostics.cancel_key(job_id)
    waiter = registry.add(key)  # before the check, so a cancel committed meanwhile wakes us
    try:
        while True:
            waiter.clear()
            asked = await _in_poll_thread(_cancel_asked, request, token, job_id)
            if asked is None or asked:
                return {"cancel": bool(asked), "ended": asked is None}
            left = deadline - time.monotonic()
            if left <= 0 or await request.is_disconnected():
                return {"cancel": False, "ended": False}
            try:
                await asyncio.wait_for(waiter.wait(), timeout=min(left, recheck))
            except TimeoutError:
                pass
    finally:
        registry.remove(key, waiter)


async def _hung_up(request: Request) -> None:
    """Return once the client has closed its connection."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _now(request: Request) -> Any:
    """Return now as the request's `deps.now` dependency gives it (tests override it)."""
    return deps.request_now(request)


@router.post("/agent/jobs/{job_id}/running", status_code=204)
def job_running(job_id: str, request: Request, db: DB, now: Now) -> Response:
    """Record that the agent started the job."""
    diagnostics.started(db, _agent_host(request, db), job_id, now)
    db.commit()
    return Response(status_code=204)


@router.post("/agent/jobs/{job_id}/result")
def job_result(job_id: str, body: JobResultIn, request: Request, db: DB, now: Now) -> dict[str, Any]:
    """Store the agent's result of a job once per result id (a resend answers duplicate)."""
    stored = diagnostics.finish(db, _agent_host(request, db), job_id, body.id, body.model_dump(), now)
    db.commit()
    return {"stored": stored, "duplicate": not stored}
