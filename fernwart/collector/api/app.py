"""The collector's ASGI application: routes, JSON errors, the body-size limit, startup and jobs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fernwart import __version__
from fernwart.collector import db as database
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.jobs import JobRunner
from fernwart.collector.metrics import Metrics
from fernwart.collector.models import utcnow
from fernwart.collector.services.notifications import load_transports
from fernwart.collector.settings import Settings

log = logging.getLogger("fernwart.collector")


class BodyLimit:
    """Answers 413 for a request body over `limit` bytes, declared or streamed, before any handler runs."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"error": f"request body over the limit of {self.limit} bytes"}, 413)
        await response(scope, receive, send)


def _field_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    where = ".".join(loc) or "body"
    if first.get("type") == "json_invalid":
        return f"malformed JSON: {first.get('ctx', {}).get('error', first.get('msg'))}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


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
        if runner:
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

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _field_message(exc)}, 422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error: %s", exc)
        return JSONResponse({"error": "database unavailable, retry later"}, 503, headers={"Retry-After": "5"})

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

    from fernwart.collector import dashboard
    from fernwart.collector.api import agents, sla, views

    app.include_router(agents.router)
    app.include_router(views.router)
    app.include_router(sla.router)
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
