"""The staleness sweep: a host whose agent has not reported within `stale_after` becomes UNREACHABLE.

A collector (or its database) that was itself down must not declare every host down when it comes back:
the sweep records each run's time, and after a gap it gives every host a fresh `stale_after` from the
moment sweeping resumed, so agents can replay their outboxes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.availability import silence_allowed
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.models import Host, MetaValue
from fernwart.collector.services import checkstate
from fernwart.collector.services.ingest import lock_host, reachability

LAST_TICK = "staleness.last_tick"
RESUMED_AT = "staleness.resumed_at"


def stale_after(host: Host) -> timedelta:
    """Return how long `host` may stay silent: its own setting, else three heartbeat intervals."""
    return silence_allowed(host.stale_after, host.heartbeat_interval)


def deadline(last_seen: datetime, allowed: timedelta, resumed_at: datetime) -> datetime:
    """Return when a host seen at `last_seen` becomes stale, never earlier than `allowed` after resuming."""
    return max(last_seen + allowed, resumed_at + allowed)


@dataclass(frozen=True)
class SweepOutcome:
    marked: tuple[str, ...]
    resumed_at: datetime


def _meta(session: Session, key: str) -> datetime | None:
    row = session.get(MetaValue, key)
    return datetime.fromisoformat(row.value) if row else None


def _set_meta(session: Session, key: str, value: datetime) -> None:
    row = session.get(MetaValue, key)
    if row is None:
        session.add(MetaValue(key=key, value=value.isoformat()))
    else:
        row.value = value.isoformat()


def sweep(session: Session, now: datetime, interval: timedelta, policy: TicketPolicy) -> SweepOutcome:
    """Mark silent hosts UNREACHABLE (opening tickets per policy); return the ids marked.

    A gap of more than three sweep intervals since the previous sweep counts as an outage of the
    collector: sweeping "resumes" now. The caller commits.
    """
    last_tick = _meta(session, LAST_TICK)
    resumed_at = _meta(session, RESUMED_AT)
    if resumed_at is None or last_tick is None or now - last_tick > 3 * interval:
        resumed_at = now
        _set_meta(session, RESUMED_AT, now)
    _set_meta(session, LAST_TICK, now)
    candidates = session.scalars(select(Host.id).where(Host.state.in_(("up", "pending")))).all()
    marked = []
    for host_id in candidates:
        host = lock_host(session, host_id)
        if host is None or host.state == "unreachable":
            continue
        allowed = stale_after(host)
        due = deadline(host.last_seen_at or host.enrolled_at, allowed, resumed_at)
        if now < due:
            continue
        seen = host.last_seen_at.isoformat(timespec="seconds") if host.last_seen_at else "never"
        summary = f"no report from the agent since {seen} (stale after {int(allowed.total_seconds())}s)"
        host.state = "unreachable"
        checkstate.apply(session, host, [reachability(Status.CRITICAL, summary, due)], now, policy)
        marked.append(host.id)
    return SweepOutcome(tuple(marked), resumed_at)
