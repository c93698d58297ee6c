"""Request dependencies: a database session per request, and who is calling (agent or technician)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import HTTPException, Request
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from fernwart.collector.models import Customer, Host, Ticket, User, utcnow
from fernwart.collector.services import auth


def session(request: Request) -> Iterator[Session]:
    """Yield a session bound to this request; rolled back unless the handler committed."""
    factory = request.app.state.sessions
    with factory() as s:
        yield s


def now() -> datetime:
    """Return the request's notion of now (UTC); overridable in tests."""
    return utcnow()


def bearer(request: Request) -> str:
    """Return the bearer token of the request, or answer 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


def agent_host(request: Request, db: Session, lock: bool = False) -> Host:
    """Return the host whose agent token the request carries (row-locked with `lock`), or answer 401."""
    host = auth.host_for_token(db, bearer(request), lock)
    if host is None:
        raise HTTPException(401, "unknown agent token", headers={"WWW-Authenticate": "Bearer"})
    return host


def technician(request: Request, db: Session) -> User:
    """Return the technician whose API token the request carries, or answer 401."""
    user = auth.user_for_token(db, bearer(request))
    if user is None:
        raise HTTPException(401, "unknown API token", headers={"WWW-Authenticate": "Bearer"})
    return user


def visible(user: User) -> ColumnElement[bool]:
    """Return the filter on hosts this user may see: a customer's users see only their own hosts."""
    if user.customer_id is None:
        return true()
    return Host.customer_id == user.customer_id


def visible_host(db: Session, user: User, host_id: str) -> tuple[Host, str | None] | None:
    """Return the host and its customer's name if it exists and the user may see it, else None."""
    row = db.execute(
        select(Host, Customer.name)
        .outerjoin(Customer, Host.customer_id == Customer.id)
        .where(Host.id == host_id)
        .where(visible(user))
    ).first()
    return None if row is None else (row[0], row[1])


def visible_ticket(db: Session, user: User, ticket_id: int) -> tuple[Ticket, str] | None:
    """Return the ticket and its host's name if it exists and the user may see it, else None."""
    row = db.execute(
        select(Ticket, Host.name)
        .join(Host, Ticket.host_id == Host.id)
        .where(Ticket.id == ticket_id)
        .where(visible(user))
    ).first()
    return None if row is None else (row[0], row[1])
