"""The API's error answers: every refusal is JSON `{"error": "..."}` with its status code.

Service refusals map through `collector.statuses`; a refused contract adds `problems` (one line each);
request validation names the first field; a value the database refuses is 422 (it is the request's
fault, and a 5xx would make an agent retry it for ever); a database that cannot be reached is 503 with
Retry-After.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from fernwart.collector.services.errors import Invalid, RateLimited, ServiceError, Unauthenticated
from fernwart.collector.statuses import status_of

log = logging.getLogger("fernwart.collector")
BODY_NOT_PARSED = "There was an error parsing the body"  # FastAPI's detail, raised before any handler


def field_message(exc: RequestValidationError) -> str:
    """Return the first validation error as "field.path: problem", plus how many more there are."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path"):
        loc = loc[1:]
    where = ".".join(loc) or "body"
    if first.get("type") == "json_invalid":
        return f"malformed JSON: {first.get('ctx', {}).get('error', first.get('msg'))}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}{more}"


def service_error(error: ServiceError) -> JSONResponse:
    """Return the JSON answer of a service refusal."""
    body: dict[str, object] = {"error": str(error)}
    code = getattr(error, "code", None)  # a refusal the agent must tell apart (e.g. instance_conflict)
    if isinstance(code, str):
        body["code"] = code
    if isinstance(error, Invalid) and error.problems:
        body["problems"] = list(error.problems)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthenticated) else None
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(math.ceil(error.retry_after))}
    return JSONResponse(body, status_of(error), headers=headers)


def http_error(exc: HTTPException) -> JSONResponse:
    """Return the JSON answer of a routing or protocol error (unknown path, wrong method, bad body)."""
    headers = getattr(exc, "headers", None)
    if exc.status_code == 400 and exc.detail == BODY_NOT_PARSED:
        # FastAPI's answer to a body that is not even text (e.g. not UTF-8): invalid input as any other
        return JSONResponse({"error": "malformed JSON: the body is not UTF-8 JSON text"}, 422)
    return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=headers)


def install(app: FastAPI) -> None:
    """Register the error handlers on `app`."""

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return http_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": field_message(exc)}, 422)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return service_error(exc)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # Input our validation let through but the database refused: the sender's data, not an outage.
        log.error("database refused a value: %s", exc.orig)
        return JSONResponse({"error": "a value was refused by the database; correct the request"}, 422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error: %s", exc)
        return JSONResponse({"error": "database unavailable, retry later"}, 503, headers={"Retry-After": "5"})
