"""The collector's ASGI application, above API and dashboard: their routes, operations endpoints, jobs.

`create_app` wires the parts and owns their lifecycle (migration, the periodic jobs); the API
(`collector.api`) and the dashboard (`collector.dashboard`) know nothing of each other, and both reach the
data through the service layer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from fernwart import __version__
from fernwart.collector import api, dashboard, database
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.jobs import JobRunner
from fernwart.collector.metrics import Metrics
from fernwart.collector.middleware import BodyLimit
from fernwart.collector.models import utcnow
from fernwart.collector.services.notifications import load_transports
from fernwart.collector.settings import Settings


def create_app(settings: Settings, engine: Engine | None = None, migrate: bool = True) -> FastAPI:
    """Build the collector application for `settings`; `engine` may be given by tests."""
    engine = engine or database.make_engine(settings.effective_database_url)
    sessions = database.session_factory(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            database.migrate(engine)
        runner = None
        if settings.run_jobs:
            transports = load_transports(settings.notify_config or settings.home / "notify.yaml")
            runner = JobRunner(
                sessions, settings.job_interval, app.state.policy, utcnow, transports, settings.public_url
            )
            runner.start()
        try:
            yield
        finally:
            if runner:
                runner.stop()

    app = FastAPI(title="Fernwart collector", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.policy = TicketPolicy(settings.ticket_on, settings.resolve_on_recovery, settings.reopen_window)
    app.state.metrics = Metrics(sessions)
    api.errors.install(app)
    dashboard.install(app)

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
    def metrics() -> Response:
        """Expose Prometheus metrics as text."""
        return Response(app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.mount(dashboard.STATIC_PATH, dashboard.static_files(), name="dashboard-static")
    app.add_middleware(BodyLimit, limit=settings.body_limit)
    return app


def app_from_env() -> FastAPI:
    """Build the application from FERNWART_* variables: the factory each uvicorn worker process calls.

    The schema is migrated once by `fernwart-collector serve` before the workers start.
    """
    from fernwart.collector.settings import from_env

    return create_app(from_env(), migrate=False)
