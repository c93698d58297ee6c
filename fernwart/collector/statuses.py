"""The one place where refusals become HTTP status codes, for the API's JSON and the dashboard's pages.

As starlette keeps status codes out of its exceptions and in its handlers, the service layer raises
`services.errors` kinds and only this table knows what each one answers.
"""

from __future__ import annotations

from fernwart.collector.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Revoked,
    ServiceError,
    Unauthenticated,
)

STATUS: dict[type[ServiceError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    RateLimited: 429,
    Revoked: 410,  # Gone: the agent stops instead of backing off as after a 401
}


def status_of(error: ServiceError) -> int:
    """Return the HTTP status answering `error` (its nearest kind in STATUS; 400 for an unmapped kind)."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400
