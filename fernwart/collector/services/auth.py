"""Tokens for technicians, agents and enrollment: random, shown once, stored only as SHA-256 hashes.

Tokens carry 256 bits of randomness, so a fast hash is the right storage (a slow password hash buys
nothing against brute force of such keys and would cost every request). Prefixes tell token kinds apart
in logs and secret scanners: ``fwu_`` technician, ``fwa_`` agent, ``fwe_`` enrollment.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from fernwart.collector.models import APPROVAL_PENDING, Customer, EnrollmentToken, Host, MetaValue, User
from fernwart.collector.services import customers
from fernwart.collector.services.contracts import contract_of
from fernwart.collector.services.errors import Conflict, Invalid, NotFound, Unauthenticated

ROLES = ("admin", "level1", "level2", "level3")
ENROLLMENT_TTL = timedelta(hours=24)  # enrollment tokens expire; none lives forever


@dataclass(frozen=True)
class Account:
    """Who calls: a technician (`customer_id` None) or a customer's account, as the web layer sees them."""

    id: int
    name: str
    role: str
    customer_id: int | None
    token_hash: str

    @property
    def is_customer(self) -> bool:
        """Return whether this is a customer's account (it sees only its own customer and changes nothing)."""
        return self.customer_id is not None

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.name, user.role, user.customer_id, user.token_hash)


def hash_token(token: str) -> str:
    """Return the stored form of `token`."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> tuple[str, str]:
    """Return a fresh (token, hash) pair."""
    token = prefix + secrets.token_urlsafe(32)
    return token, hash_token(token)


def create_user(session: Session, name: str, role: str, now: datetime, customer: str | None = None) -> str:
    """Create a technician and return their API token (shown once); raise Invalid for a bad role or name."""
    if role not in ROLES:
        raise Invalid(f"role: unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Invalid(f"name: user {name!r} exists already")
    token, digest = new_token("fwu_")
    cust = customers.get_or_create(session, customer, now) if customer else None
    session.add(
        User(name=name, role=role, token_hash=digest, created_at=now, customer_id=cust.id if cust else None)
    )
    return token


def create_enrollment_token(
    session: Session,
    now: datetime,
    customer: str | None = None,
    ttl: timedelta = ENROLLMENT_TTL,
    uses: int | None = 1,
    replace_host: str | None = None,
) -> str:
    """Create an enrollment token valid for `ttl` and `uses` enrollments (None: unlimited, for images).

    `replace_host` lets the token take over that existing host of the customer (a reinstalled machine);
    without it an existing hostname is never taken over.
    """
    if uses is not None and uses < 1:
        raise Invalid("uses: must be at least 1")
    if ttl <= timedelta(0):
        raise Invalid("ttl: must be longer than 0s")
    token, digest = new_token("fwe_")
    cust = customers.get_or_create(session, customer, now) if customer else None
    session.add(
        EnrollmentToken(
            token_hash=digest,
            customer_id=cust.id if cust else None,
            created_at=now,
            expires_at=now + ttl,
            uses_left=uses,
            uses=uses,
            replace_host=replace_host,
        )
    )
    return token


@dataclass(frozen=True)
class EnrollmentTokenView:
    """An enrollment token as `token list` shows it (never the secret)."""

    id: int
    customer: str | None
    created_at: datetime
    expires_at: datetime | None
    uses: int | None
    uses_left: int | None
    replace_host: str | None
    state: str  # active | expired | used up | revoked


def enrollment_tokens(session: Session, now: datetime) -> list[EnrollmentTokenView]:
    """Return every enrollment token, newest first, with its state as of `now`."""
    rows = session.execute(
        select(EnrollmentToken, Customer.name)
        .outerjoin(Customer, Customer.id == EnrollmentToken.customer_id)
        .order_by(EnrollmentToken.id.desc())
    ).all()
    return [
        EnrollmentTokenView(t.id, name, t.created_at, t.expires_at, t.uses, t.uses_left, t.replace_host,
                            _token_state(t, now))
        for t, name in rows
    ]


def revoke_enrollment_token(session: Session, token_id: int, now: datetime) -> None:
    """Revoke the enrollment token with `token_id` (again is harmless); raise NotFound for no such token."""
    row = session.get(EnrollmentToken, token_id)
    if row is None:
        raise NotFound(f"enrollment token {token_id}: no such token")
    if row.revoked_at is None:
        row.revoked_at = now


def _token_state(token: EnrollmentToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    if token.uses_left is not None and token.uses_left < 1:
        return "used up"
    return "active"


@dataclass(frozen=True)
class IssuedIdentity:
    """What the collector hands a newly enrolled agent: its host id, its own token, its heartbeat."""

    host_id: str
    agent_token: str
    heartbeat_interval: int


def enroll(
    session: Session,
    token: str,
    hostname: str,
    os_name: str,
    agent_version: str,
    now: datetime,
    replace: bool = False,
    instance: str | None = None,
) -> IssuedIdentity:
    """Register `hostname` with an enrollment token and issue a new agent token.

    The token's use is taken with a compare-and-set update, so two hosts racing for its last use cannot
    both win. A hostname the customer already has is never taken over silently: that needs `replace`
    from the agent *and* a token a technician created for that host (``token create --replace HOST``);
    otherwise Conflict, and the token's use is not spent. A replacement keeps the host's id and history
    and revokes its old agent token.

    The host is bound to the enrolling agent `instance` (services.identity), a replaced host to the new
    one. A new host of a customer whose contract says ``approval: required`` waits with approval pending.
    """
    row = session.scalar(select(EnrollmentToken).where(EnrollmentToken.token_hash == hash_token(token)))
    if row is None:
        raise Unauthenticated("enrollment token unknown")
    if row.revoked_at is not None:
        raise Unauthenticated("enrollment token revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated(f"enrollment token expired at {row.expires_at.isoformat(timespec='seconds')}")
    host = session.scalar(
        select(Host)
        .where(Host.name == hostname)
        .where(Host.customer_id.is_(None) if row.customer_id is None else Host.customer_id == row.customer_id)
    )
    if host is not None and (row.uses_left is None or row.uses_left > 0):  # "used up" says more
        _may_replace(host.name, row, replace)
    taken = session.execute(
        update(EnrollmentToken)
        .where(EnrollmentToken.id == row.id)
        .where(or_(EnrollmentToken.uses_left.is_(None), EnrollmentToken.uses_left > 0))
        .values(uses_left=EnrollmentToken.uses_left - 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Unauthenticated("enrollment token used up")
    agent_token, digest = new_token("fwa_")
    created = host is None
    if host is None:
        host = Host(
            id=str(uuid.uuid4()),
            name=hostname,
            customer_id=row.customer_id,
            enrolled_at=now,
            state="pending",
            heartbeat_interval=60,
            os="",
            agent_version="",
            criticality="normal",
        )
        session.add(host)
    host.os = os_name[:200]
    host.agent_version = agent_version[:50]
    host.agent_token_hash = digest
    host.agent_token_prev_hash = None
    host.token_issued_at = now
    host.revoked_at = None  # enrolling again (with --replace) lifts a revocation
    host.agent_instance = instance
    host.instance_conflict = None
    host.instance_conflict_at = None
    session.flush()
    contract = contract_of(session, host.customer_id)
    if contract is not None:
        host.criticality = contract.criticality_of(host.name)
        if created and contract.contract.approval_required:
            host.approval = APPROVAL_PENDING
    return IssuedIdentity(host.id, agent_token, host.heartbeat_interval)


def _may_replace(hostname: str, token: EnrollmentToken, replace: bool) -> None:
    """Raise Conflict unless both sides asked to replace the existing host `hostname`."""
    confirmed = token.replace_host == hostname
    if replace and confirmed:
        return
    missing = []
    if not replace:
        missing.append("the agent must enroll with --replace")
    if not confirmed:
        missing.append(f"a technician must create its token with `fernwart-collector token create "
                       f"--replace {hostname}`")
    raise Conflict(f"host {hostname} exists; to replace it, {' and '.join(missing)}")


def host_for_token(session: Session, token: str, lock: bool = False) -> Host | None:
    """Return the host an agent token belongs to, or None; `lock` locks its row for the transaction.

    The token from before the last rotation still counts until the new one is used (see rotate).
    """
    digest = hash_token(token)
    query = select(Host).where(or_(Host.agent_token_hash == digest, Host.agent_token_prev_hash == digest))
    return session.scalar(query.with_for_update() if lock else query)


def settle_rotation(host: Host, token: str) -> None:
    """End a rotation's overlap once the agent uses its new token: the previous one stops working."""
    if host.agent_token_prev_hash is not None and host.agent_token_hash == hash_token(token):
        host.agent_token_prev_hash = None


def rotate_agent_token(host: Host, token: str, now: datetime) -> str:
    """Issue `host` a new agent token, keeping the one that asked (`token`) valid until the new is used.

    A rotation asked with the previous token (the answer to the last one was lost) replaces only the
    never-used new token, so the agent is not locked out.
    """
    new, digest = new_token("fwa_")
    if host.agent_token_hash == hash_token(token):
        host.agent_token_prev_hash = host.agent_token_hash
    host.agent_token_hash = digest
    host.token_issued_at = now
    return new


def revoke_host(session: Session, name: str, customer: str | None, now: datetime) -> Host:
    """Revoke the host called `name` (of `customer`, needed when several customers use the name)."""
    query = select(Host).where(Host.name == name)
    if customer is not None:
        query = query.join(Customer, Customer.id == Host.customer_id).where(Customer.name == customer)
    hosts = list(session.scalars(query))
    if not hosts:
        raise NotFound(f"host {name}: no such host" + (f" of customer {customer}" if customer else ""))
    if len(hosts) > 1:
        raise Invalid(f"customer: several customers have a host {name}; name the customer")
    host = hosts[0]
    if host.revoked_at is None:
        host.revoked_at = now
    return host


def account_for_token(session: Session, token: str) -> Account | None:
    """Return the account an API token belongs to, or None."""
    user = session.scalar(select(User).where(User.token_hash == hash_token(token)))
    return None if user is None else Account.of(user)


def account_by_id(session: Session, user_id: int) -> Account | None:
    """Return the account with id `user_id`, or None."""
    user = session.get(User, user_id)
    return None if user is None else Account.of(user)


def _signed_out_key(user_id: int) -> str:
    return f"dashboard.signed_out.{user_id}"


def signed_out_at(session: Session, user_id: int) -> datetime | None:
    """Return when the account last signed out of the dashboard (sessions issued before are void)."""
    value = session.scalar(select(MetaValue.value).where(MetaValue.key == _signed_out_key(user_id)))
    return datetime.fromisoformat(value) if value else None


def record_sign_out(session: Session, user_id: int, now: datetime) -> None:
    """Void every dashboard session of the account issued up to `now`; the caller commits."""
    row = session.get(MetaValue, _signed_out_key(user_id))
    if row is None:
        session.add(MetaValue(key=_signed_out_key(user_id), value=now.isoformat()))
    else:
        row.value = now.isoformat()
