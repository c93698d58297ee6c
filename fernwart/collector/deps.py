"""Request dependencies shared by API and dashboard: a database session, now, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fernwart.collector.models import utcnow
from fernwart.collector.services import auth
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import RateLimited, Unauthenticated
from fernwart.collector.throttle import Throttle


def session(request: Request) -> Iterator[Session]:
    """Yield a session bound to this request; rolled back unless the handler committed."""
    factory = request.app.state.sessions
    with factory() as s:
        yield s


def now() -> datetime:
    """Return the request's notion of now (UTC); overridable in tests."""
    return utcnow()


def request_now(request: Request) -> datetime:
    """Return now as the `now` dependency gives it (tests override it), for handlers that take no
    dependencies."""
    when: datetime = request.app.dependency_overrides.get(now, now)()
    return when


def bearer(request: Request) -> str:
    """Return the bearer token of the request; raise Unauthenticated without one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token")
    return token.strip()


DB = Annotated[Session, Depends(session)]
Now = Annotated[datetime, Depends(now)]


def client_address(request: Request) -> str:
    """Return the address of the connection's peer ("unknown" when the server does not say)."""
    return request.client.host if request.client else "unknown"


@contextmanager
def checking_credentials(request: Request, now: datetime, what: str) -> Iterator[None]:
    """Guard a credential check: refuse a blocked address first, count the check's Unauthenticated.

    Raises RateLimited (429) while the client's address has too many recent failures (`throttle`). A
    request that offers no bearer token at all is refused (401) without counting as a failure.
    """
    throttle: Throttle = request.app.state.throttle
    address = client_address(request)
    wait = throttle.address_blocked_for(address, now)
    if wait:
        raise RateLimited(f"too many failed credential checks from {address}; retry later", wait)
    try:
        yield
    except Unauthenticated:
        if what != "API token" or "authorization" in request.headers:  # no token at all is no guess
            throttle.failed(address, now, what)
        raise


def technician(request: Request, db: DB, now: Now) -> Account:
    """Return the account whose API token the request carries; raise Unauthenticated otherwise."""
    with checking_credentials(request, now, "API token"):
        account = auth.account_for_token(db, bearer(request))
        if account is None:
            raise Unauthenticated("unknown API token")
    return account


Tech = Annotated[Account, Depends(technician)]
