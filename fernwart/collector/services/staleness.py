"""The staleness sweep: a host whose agent has not reported within `stale_after` becomes UNREACHABLE.

A collector (or its database) that was itself down must not declare every host down when it comes back:
the sweep records each run's time, and after a gap it gives every host a fresh `stale_after` from the
moment sweeping resumed, so agents can replay their outboxes first.

Set-based, so it never holds ingest up at fleet size: one UPDATE finds and marks up to `batch` stale hosts
(`FOR UPDATE SKIP LOCKED` on PostgreSQL: a host whose report is being ingested is left for the next run),
and the caller commits after each batch; a run stops after `cap` hosts and the next run continues.

Mass silence: when more than `share` of a customer's hosts (at least `min_hosts` of them), or of all
hosts, fall silent in one sweep, the collector's own network is the likely cause. The hosts are still
marked UNREACHABLE, but one incident ticket is opened (and paged) for the group instead of one per host;
while it is open, its hosts open no tickets of their own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.availability import silence_allowed
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.models import APPROVAL_PENDING, Host, MetaValue, Ticket
from fernwart.collector.services import checkstate, tickets
from fernwart.collector.services.ingest import reachability

LAST_TICK = "staleness.last_tick"
RESUMED_AT = "staleness.resumed_at"
MASS_SILENCE = "mass-silence"  # the pseudo-check of a customer's mass-silence incident ticket
MASS_SILENCE_ALL = "mass-silence-all"  # ... and of one across all customers
LISTED_HOSTS = 50  # names listed in an incident ticket; the rest are counted


def stale_after(host: Host) -> timedelta:
    """Return how long `host` may stay silent: its own setting, else three heartbeat intervals."""
    return silence_allowed(host.stale_after, host.heartbeat_interval)


def deadline(last_seen: datetime, allowed: timedelta, resumed_at: datetime) -> datetime:
    """Return when a host seen at `last_seen` becomes stale, never earlier than `allowed` after resuming."""
    return max(last_seen + allowed, resumed_at + allowed)


@dataclass(frozen=True)
class SilenceRule:
    """When silence is a mass silence: more than `share` of at least `min_hosts` hosts in one sweep."""

    share: float = 0.5
    min_hosts: int = 10


DEFAULT_SILENCE = SilenceRule()


@dataclass(frozen=True)
class MassSilence:
    """One mass-silence incident opened by a sweep."""

    customer_id: int | None  # None: across all customers
    silent: tuple[str, ...]  # host names
    total: int
    ticket_id: int


@dataclass(frozen=True)
class SweepOutcome:
    marked: tuple[str, ...]
    resumed_at: datetime
    tickets_opened: int = 0
    incidents: tuple[MassSilence, ...] = ()
    more: bool = False  # the cap was reached: the next run continues


def _meta(session: Session, key: str) -> datetime | None:
    row = session.get(MetaValue, key)
    return datetime.fromisoformat(row.value) if row else None


def _set_meta(session: Session, key: str, value: datetime) -> None:
    row = session.get(MetaValue, key)
    if row is None:
        session.add(MetaValue(key=key, value=value.isoformat()))
    else:
        row.value = value.isoformat()


def begin(session: Session, now: datetime, interval: timedelta) -> datetime:
    """Record this sweep's tick and return when sweeping resumed (now, after a gap of > 3 intervals)."""
    last_tick = _meta(session, LAST_TICK)
    resumed_at = _meta(session, RESUMED_AT)
    if resumed_at is None or last_tick is None or now - last_tick > 3 * interval:
        resumed_at = now
        _set_meta(session, RESUMED_AT, now)
    _set_meta(session, LAST_TICK, now)
    return resumed_at


def _due(session: Session, now: datetime, resumed_at: datetime) -> ColumnElement[bool] | None:
    """Return the condition "up or pending and stale at `now`", one branch per distinct stale_after;
    None when no host can be stale yet."""
    # a host waiting for approval counts nothing, silence included; an approved one from its approval on
    watched = and_(Host.state.in_(("up", "pending")), Host.approval != APPROVAL_PENDING)
    pairs = session.execute(select(Host.stale_after, Host.heartbeat_interval).where(watched).distinct())
    branches = []
    for own, heartbeat in pairs:
        allowed = silence_allowed(own, heartbeat)
        if now < resumed_at + allowed:
            continue
        branches.append(
            and_(
                Host.stale_after.is_not_distinct_from(own),
                Host.heartbeat_interval == heartbeat,
                func.coalesce(Host.last_seen_at, Host.enrolled_at) <= now - allowed,
                or_(Host.approved_at.is_(None), Host.approved_at <= now - allowed),
            )
        )
    return and_(watched, or_(*branches)) if branches else None


def plan_incidents(
    session: Session, now: datetime, resumed_at: datetime, rule: SilenceRule
) -> tuple[MassSilence, ...]:
    """Open an incident ticket for each group of hosts silent in mass; return those opened.

    Counted before any host is marked, so a run stopped by its cap and continued later still sees the
    group as one; a group whose incident is still open opens no second one.
    """
    due = _due(session, now, resumed_at)
    if due is None:
        return ()
    silent: dict[int | None, list[tuple[str, str]]] = {}
    for host_id, name, customer_id in session.execute(
        select(Host.id, Host.name, Host.customer_id).where(due).order_by(Host.name)
    ):
        silent.setdefault(customer_id, []).append((host_id, name))
    if not silent:
        return ()
    counts = session.execute(select(Host.customer_id, func.count()).group_by(Host.customer_id))
    totals: Counter[int | None] = Counter({customer_id: count for customer_id, count in counts})
    everyone = sum(totals.values())
    groups: list[tuple[int | None, list[tuple[str, str]], int]]
    if everyone >= rule.min_hosts and sum(len(v) for v in silent.values()) > rule.share * everyone:
        groups = [(None, [h for v in silent.values() for h in v], everyone)]
    else:
        groups = [
            (c, hosts, totals[c])
            for c, hosts in silent.items()
            if c is not None and totals[c] >= rule.min_hosts and len(hosts) > rule.share * totals[c]
        ]
    opened = []
    for customer_id, hosts, total in groups:
        if _open_incident(session, customer_id) is not None:
            continue
        anchor = session.get(Host, hosts[0][0])
        assert anchor is not None
        names = [name for _, name in hosts]
        listed = ", ".join(names[:LISTED_HOSTS])
        if len(names) > LISTED_HOSTS:
            listed += f" and {len(names) - LISTED_HOSTS} more"
        scope = "all hosts" if customer_id is None else "the customer's hosts"
        summary = (
            f"mass silence: {len(names)} of {total} of {scope} stopped reporting within one sweep; "
            f"likely the collector's own network. Silent: {listed}"
        )
        check = MASS_SILENCE_ALL if customer_id is None else MASS_SILENCE
        ticket = tickets.open_ticket(session, anchor, check, Status.CRITICAL, summary, now, now)
        ticket.title = f"Mass silence: {len(names)} of {total} hosts stopped reporting"
        opened.append(MassSilence(customer_id, tuple(names), total, ticket.id))
    return tuple(opened)


def _open_incident(session: Session, customer_id: int | None) -> int | None:
    """Return the open mass-silence incident covering `customer_id`'s hosts, if any."""
    query = select(Ticket.id).where(Ticket.open_key.is_not(None))
    across = Ticket.check_name == MASS_SILENCE_ALL
    if customer_id is None:
        return session.scalar(query.where(across).limit(1))
    own = and_(Ticket.check_name == MASS_SILENCE, Host.customer_id == customer_id)
    return session.scalar(query.join(Host, Host.id == Ticket.host_id).where(or_(across, own)).limit(1))


def mark_batch(
    session: Session, now: datetime, resumed_at: datetime, policy: TicketPolicy, limit: int
) -> SweepOutcome:
    """Mark up to `limit` stale hosts UNREACHABLE in one statement and record their reachability.

    Hosts covered by an open mass-silence incident open no tickets of their own. The caller commits.
    """
    due = _due(session, now, resumed_at)
    if due is None:
        return SweepOutcome((), resumed_at)
    # A CTE, not `IN (subquery)`: PostgreSQL may run a LIMITed subquery more than once per statement
    # (and mark more than `limit` hosts); a locking CTE is evaluated exactly once.
    picked = select(Host.id).where(due).order_by(Host.id).limit(limit).with_for_update(skip_locked=True)
    chosen = picked.cte("picked")
    ids = session.scalars(
        update(Host)
        .where(Host.id == chosen.c.id, due)
        .values(state="unreachable")
        .returning(Host.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not ids:
        return SweepOutcome((), resumed_at)
    quiet = replace(policy, open_on=frozenset())
    covered: dict[int | None, bool] = {}
    hosts = session.scalars(
        select(Host).where(Host.id.in_(ids)).order_by(Host.id).execution_options(populate_existing=True)
    )
    items = []
    for host in hosts:
        if host.customer_id not in covered:
            covered[host.customer_id] = _open_incident(session, host.customer_id) is not None
        allowed = stale_after(host)
        since = host.last_seen_at or host.enrolled_at
        if host.approved_at is not None and host.approved_at > since:  # silence counts from approval on
            since = host.approved_at
        due_at = deadline(since, allowed, resumed_at)
        seen = host.last_seen_at.isoformat(timespec="seconds") if host.last_seen_at else "never"
        summary = f"no report from the agent since {seen} (stale after {int(allowed.total_seconds())}s)"
        observation = reachability(Status.CRITICAL, summary, due_at)
        items.append((host, observation, quiet if covered[host.customer_id] else policy))
    # one read and one executemany per table for all hosts: a mass silence no longer holds ingest up
    done = checkstate.apply_many(session, items, now)
    return SweepOutcome(tuple(ids), resumed_at, tickets_opened=done.tickets_opened, more=len(ids) == limit)


def sweep(
    session: Session,
    now: datetime,
    interval: timedelta,
    policy: TicketPolicy,
    rule: SilenceRule = DEFAULT_SILENCE,
    cap: int = 10_000,
) -> SweepOutcome:
    """Mark silent hosts UNREACHABLE (opening tickets per policy) in one transaction; return what it did.

    A gap of more than three sweep intervals since the previous sweep counts as an outage of the
    collector: sweeping "resumes" now. The caller commits; `jobs.run_sweep` commits per batch instead.
    """
    resumed_at = begin(session, now, interval)
    incidents = plan_incidents(session, now, resumed_at, rule)
    done = mark_batch(session, now, resumed_at, policy, cap)
    return replace(done, incidents=incidents, tickets_opened=done.tickets_opened + len(incidents))
