"""Enrollment tokens a technician asks for over the API (`fernwart deploy` makes one per host).

The command line on the collector (`fernwart-collector token create`) may create a customer on the fly;
the API may not: a typo in a customer name must not open a new customer's fleet. Tokens made here are
for one host each: one use, a TTL of at most 7 days, optionally allowed to replace that host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.models import EnrollmentToken
from fernwart.collector.services import auth, customers
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Invalid, NotFound
from fernwart.collector.services.permissions import Permission, require

MAX_TTL = timedelta(days=7)


@dataclass(frozen=True)
class IssuedEnrollmentToken:
    """A token just made: its id (for `token list|revoke`), the secret (shown once) and its limits."""

    id: int
    token: str
    customer: str
    expires_at: datetime
    replace_host: str | None


def issue(
    session: Session, account: Account, customer: str, ttl: timedelta, now: datetime,
    replace_host: str | None = None,
) -> IssuedEnrollmentToken:
    """Create a single-use enrollment token for `customer`, valid for `ttl`; the caller commits.

    Raises Forbidden unless the account may enroll hosts (level 2 and up, admins), NotFound for an
    unknown customer, Invalid for a TTL outside (0, 7 days].
    """
    require(account, Permission.ENROLL_HOSTS)
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise Invalid(f"ttl: must be more than 0 s and at most {int(MAX_TTL.total_seconds())} s")
    if customers.by_name(session, customer) is None:
        raise NotFound(f"customer {customer!r}: no such customer (create it with a contract or "
                       "`fernwart-collector token create --customer`)")
    token = auth.create_enrollment_token(session, now, customer, ttl, 1, replace_host=replace_host)
    session.flush()
    row = session.scalars(
        select(EnrollmentToken).where(EnrollmentToken.token_hash == auth.hash_token(token))
    ).one()
    assert row.expires_at is not None
    return IssuedEnrollmentToken(row.id, token, customer, row.expires_at, replace_host)


def revoke(session: Session, account: Account, token_id: int, now: datetime) -> None:
    """Revoke the enrollment token `token_id` (again is harmless); the caller commits.

    A used-up token may be revoked too (it changes nothing). Raises Forbidden as `issue` does, NotFound
    for no such token.
    """
    require(account, Permission.ENROLL_HOSTS)
    auth.revoke_enrollment_token(session, token_id, now)
