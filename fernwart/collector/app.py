"""The collector's ASGI application, above API and dashboard: their routes, operations endpoints, jobs.

`create_app` wires the parts and owns their lifecycle (migration, the periodic jobs); the API
(`collector.api`) and the dashboard (`collector.dashboard`) know nothing of each other, and both reach the
data through the service layer.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from fernwart import __version__
from fernwart.collector import api, dashboard, database
from fernwart.collector.deps import client_address
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.jobs import JobRunner
from fernwart.collector.metrics import Metrics
from fernwart.collector.middleware import BodyLimit
from fernwart.collector.models import utcnow
from fernwart.collector.services import job_wakeup
from fernwart.collector.services.errors import ServiceError
from fernwart.collector.services.group_commit import GroupCommit
from fernwart.collector.services.notifications import load_transports
from fernwart.collector.services.ssh_jobs import SSHJobConfig
from fernwart.collector.services.staleness import SilenceRule
from fernwart.collector.settings import Settings
from fernwart.collector.ssh_worker import SSHJobWorker
from fernwart.collector.throttle import Throttle
from fernwart.ssh import Credentials, Timeouts

WRITERS = 4  # PostgreSQL writer threads per collector process (SQLite: one)


def create_app(settings: Settings, engine: Engine | None = None, migrate: bool = True) -> FastAPI:
    """Build the collector application for `settings`; `engine` may be given by tests."""
    engine = engine or database.make_engine(settings.effective_database_url)
    sessions = database.session_factory(engine)
    waiters = job_wakeup.JobWaiters()
    job_wakeup.install(sessions, waiters)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            database.migrate(engine)
        listener = None
        if engine.dialect.name == "postgresql":  # jobs queued by other collectors wake our long-polls
            listener = job_wakeup.JobListener(engine, waiters)
            listener.start()
        runner = None
        if settings.run_jobs:
            transports = load_transports(settings.notify_config or settings.home / "notify.yaml")
            rule = SilenceRule(settings.mass_silence_share, settings.mass_silence_min_hosts)
            runner = JobRunner(
                sessions,
                settings.job_interval,
                app.state.policy,
                utcnow,
                transports,
                settings.public_url,
                rule,  # fernwart_tickets_opened_total is read from ticket history, sweep openings included
                retention=settings.retention(),
                housekeeping_interval=settings.housekeeping_interval,
            )
            runner.start()
        ssh_worker = None
        if settings.run_jobs and settings.ssh_workers > 0:
            ssh_worker = SSHJobWorker(sessions, ssh_job_config(settings), settings.ssh_workers, utcnow)
            ssh_worker.start()
        app.state.ssh_worker = ssh_worker
        try:
            yield
        finally:
            if ssh_worker:
                ssh_worker.stop()
            if runner:
                runner.stop()
            app.state.writer.stop()
            if listener:
                listener.stop()

    app = FastAPI(
        title="Fernwart collector", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    # agents' reports: writer threads, concurrent reports committed together
    writers = 1 if engine.dialect.name == "sqlite" else WRITERS
    app.state.writer = GroupCommit(sessions, (ServiceError, RequestValidationError), writers=writers)
    app.state.job_waiters = waiters
    app.state.policy = TicketPolicy(settings.ticket_on, settings.resolve_on_recovery, settings.reopen_window)
    app.state.metrics = Metrics(sessions, waiters)
    app.state.throttle = Throttle(failures=settings.auth_failure_limit)
    app.state.ssh_worker = None
    api.errors.install(app)
    api.openapi.install(app)
    api.openapi.install_docs(app)
    dashboard.install(app)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        """Answer a browser's unknown dashboard path with a page, everything else as the API does."""
        if exc.status_code == 404 and dashboard.wants_page(request):
            return dashboard.not_found_page(request)
        return api.errors.http_error(exc)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, Any]:
        """Report whether the collector can reach its database."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError:
            return JSONResponse({"status": "degraded", "database": "unreachable"}, 503)  # type: ignore[return-value]
        return {"status": "ok", "database": "ok"}

    @app.get("/metrics", tags=["operations"])
    def metrics(request: Request) -> Response:
        """Expose Prometheus metrics as text: to loopback, to the metrics token, or to all when public."""
        refusal = metrics_refusal(settings, request)
        if refusal is not None:
            return refusal
        return Response(app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.mount(dashboard.STATIC_PATH, dashboard.static_files(), name="dashboard-static")
    app.add_middleware(BodyLimit, limit=settings.body_limit)
    return app


def ssh_job_config(settings: Settings) -> SSHJobConfig:
    """Return how this collector runs jobs over SSH: its playbooks, known_hosts, key and timeouts."""
    key = settings.effective_ssh_key
    seconds = settings.ssh_connect_timeout
    return SSHJobConfig(
        playbooks_dir=settings.effective_playbooks_dir,
        known_hosts=settings.effective_ssh_known_hosts,
        credentials=Credentials(key_file=key if key.exists() else None, use_agent=settings.ssh_use_agent),
        default_user=settings.ssh_user,
        timeouts=Timeouts(connect=seconds, banner=seconds, auth=seconds),
    )


def metrics_refusal(settings: Settings, request: Request) -> Response | None:
    """Return the answer refusing `request` to /metrics, or None when it may read them.

    Loopback peers may always read; others need `FERNWART_METRICS_TOKEN` as a bearer token, unless
    `FERNWART_METRICS_PUBLIC` is set. Metrics name customers' hosts by count and state, so not everyone
    who can reach the collector's port needs to see them.
    """
    if settings.metrics_public or _is_loopback(client_address(request)):
        return None
    if settings.metrics_token:
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            offered.strip().encode(), settings.metrics_token.encode()
        ):
            return None
        return JSONResponse(
            {"error": "missing or wrong metrics token"}, 401, headers={"WWW-Authenticate": "Bearer"}
        )
    message = "metrics are served to loopback only; set FERNWART_METRICS_TOKEN or FERNWART_METRICS_PUBLIC"
    return JSONResponse({"error": message}, 403)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def app_from_env() -> FastAPI:
    """Build the application from FERNWART_* variables: the factory each uvicorn worker process calls.

    The schema is migrated once by `fernwart-collector serve` before the workers start.
    """
    from fernwart.collector.settings import from_env

    return create_app(from_env(), migrate=False)
