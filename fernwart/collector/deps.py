"""Request dependencies shared by API and dashboard: a database session, now, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fernwart.collector.models import utcnow
from fernwart.collector.services import auth
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Unauthenticated


def session(request: Request) -> Iterator[Session]:
    """Yield a session bound to this request; rolled back unless the handler committed."""
    factory = request.app.state.sessions
    with factory() as s:
        yield s


def now() -> datetime:
    """Return the request's notion of now (UTC); overridable in tests."""
    return utcnow()


def bearer(request: Request) -> str:
    """Return the bearer token of the request; raise Unauthenticated without one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token")
    return token.strip()


DB = Annotated[Session, Depends(session)]
Now = Annotated[datetime, Depends(now)]


def technician(request: Request, db: DB) -> Account:
    """Return the account whose API token the request carries; raise Unauthenticated otherwise."""
    account = auth.account_for_token(db, bearer(request))
    if account is None:
        raise Unauthenticated("unknown API token")
    return account


Tech = Annotated[Account, Depends(technician)]
