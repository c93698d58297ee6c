"""What the API accepts, and when it reads it: bounded ids and instants, NUL-free text, bodies after auth.

- A request body is read and parsed only after the caller was authenticated (`JsonBody`, declared after
  the credential dependency; the agents' report reads its raw bytes and parses after the token check),
  so a request without valid credentials learns nothing from a 422.
- A NUL character cannot be stored by PostgreSQL and means nothing in plugin output: in a JSON body it is
  replaced by U+FFFD (the replacement character) wherever it appears, the same on both databases; in a
  path or query parameter it is refused.
- Numbers in a body that are not finite (NaN, Infinity, 1e999, "NaN") are taken as "no value" where a
  value may be missing (metrics), as the agent itself sends them.
- Instants are ISO 8601 strings with a UTC offset, never numbers (which pydantic would take as Unix
  times), between QUERY_EARLIEST and QUERY_LATEST.
- Ids are bounded to what the database can hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ValidationError

M = TypeVar("M", bound=BaseModel)

ID_MAX = 2**63 - 1  # a signed 64-bit integer: every id column
QUERY_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
QUERY_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_ISO_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.ASCII
)
# \u0000 preceded by an even number of backslashes is an escaped NUL (an odd number escapes the backslash)
_ESCAPED_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def scrub_nul(raw: bytes) -> bytes:
    """Return the JSON text `raw` with every escaped NUL character replaced by U+FFFD."""
    return _ESCAPED_NUL.sub(rb"\1\\ufffd", raw) if b"\\u0000" in raw else raw


def parse_body(model: type[M], raw: bytes) -> M:
    """Return `raw` (JSON) validated as `model`; raise RequestValidationError naming the first field."""
    try:
        return model.model_validate_json(scrub_nul(raw))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=True)) from None


async def raw_body(request: Request) -> bytes:
    """Return the request's body bytes, unparsed."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def json_body(model: type[M]) -> Callable[..., Any]:
    """Return a dependency that parses the body as `model`; declare it after the credentials."""

    def dependency(raw: RawBody) -> M:
        return parse_body(model, raw)

    dependency.__name__ = f"{model.__name__}_body"
    return dependency


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """Return the OpenAPI `requestBody` of a route that parses its body itself, as `model`.

    `add_body_schemas` puts the model's schema into the document's components.
    """
    BODY_MODELS[model.__name__] = model
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }


BODY_MODELS: dict[str, type[BaseModel]] = {}


def add_body_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Add the schemas of every model `request_body` named to an OpenAPI document's components."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in BODY_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        for inner, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(inner, definition)
        schemas.setdefault(name, schema)
    return document


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def _iso_only(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _ISO_INSTANT.fullmatch(value.strip()) is None:
        raise ValueError("expected an ISO 8601 time with a UTC offset, e.g. 2026-11-22T10:00:00Z")
    return value.strip()


def _query_bounds(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time with a UTC offset, e.g. 2026-11-22T10:00:00Z")
    if not QUERY_EARLIEST <= value < QUERY_LATEST:
        raise ValueError(f"expected a time from {QUERY_EARLIEST:%Y} to {QUERY_LATEST:%Y}")
    return value


def finite_or_none(value: float | None) -> float | None:
    """Return `value` if it is a finite number, else None (no value)."""
    return value if value is not None and math.isfinite(value) else None


SafeStr = Annotated[str, AfterValidator(_no_nul)]
# An instant of the agents' wire: its window around now is the ingest service's to check.
WireInstant = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
BoundedInstant = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_query_bounds)]
MaybeNumber = Annotated[float | None, AfterValidator(finite_or_none)]
TicketId = Annotated[int, Path(ge=1, le=ID_MAX, description="a ticket's id")]
HostId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="a host's id")
]


def bounded_instant(name: str, value: datetime) -> datetime:
    """Return `value` if it lies within the query bounds; raise ValueError naming `name` otherwise."""
    try:
        return _query_bounds(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
