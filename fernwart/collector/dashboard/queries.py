"""Read queries the dashboard needs beyond the JSON API's handlers, always scoped by `deps.visible`.

Host lists, check states, results and tickets come from `collector.api.views` itself, so the dashboard
and the API cannot disagree about who sees what; this module holds only the aggregates and lookups the
API has no handler for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.api import deps
from fernwart.collector.domain.tickets import OPEN_STATES
from fernwart.collector.models import CheckState, Host, MetaValue, Ticket, User


@dataclass(frozen=True)
class Problem:
    """A check that is not OK, as the overview lists it."""

    host_id: str
    host: str
    check: str
    status: str
    state_type: str
    attempt: int
    max_attempts: int
    since: datetime
    observed_at: datetime
    summary: str


def open_ticket_counts(db: Session, user: User) -> dict[str, int]:
    """Return the number of open tickets the user may see, by ticket state."""
    rows = db.execute(
        select(Ticket.state, func.count())
        .join(Host, Ticket.host_id == Host.id)
        .where(deps.visible(user))
        .where(Ticket.state.in_(OPEN_STATES))
        .group_by(Ticket.state)
    )
    return {state: count for state, count in rows}


def problems(db: Session, user: User, limit: int = 500) -> list[Problem]:
    """Return the non-OK checks the user may see, worst status and HARD first, then longest-standing."""
    rows = db.execute(
        select(CheckState, Host.name)
        .join(Host, CheckState.host_id == Host.id)
        .where(deps.visible(user))
        .where(CheckState.status != int(Status.OK))
        .order_by(
            CheckState.state_type,  # HARD before SOFT
            CheckState.status.desc(),
            CheckState.last_change_at,
            Host.name,
            CheckState.check_name,
        )
        .limit(limit)
    ).all()
    ranked = sorted(rows, key=lambda row: (_severity(row[0].status), row[0].state_type != "HARD"))
    return [
        Problem(
            host_id=state.host_id,
            host=host_name,
            check=state.check_name,
            status=Status(state.status).name,
            state_type=state.state_type,
            attempt=state.attempt,
            max_attempts=state.max_attempts,
            since=state.last_change_at,
            observed_at=state.last_observed_at,
            summary=state.last_summary,
        )
        for state, host_name in ranked
    ]


def _severity(status: int) -> int:
    # CRITICAL first, then UNKNOWN, then WARNING, as Nagios orders problems.
    return {int(Status.CRITICAL): 0, int(Status.UNKNOWN): 1, int(Status.WARNING): 2}.get(status, 3)


def _signed_out_key(user_id: int) -> str:
    return f"dashboard.signed_out.{user_id}"


def signed_out_at(db: Session, user_id: int) -> datetime | None:
    """Return when the user last signed out of the dashboard (sessions issued before are void)."""
    value = db.scalar(select(MetaValue.value).where(MetaValue.key == _signed_out_key(user_id)))
    return datetime.fromisoformat(value) if value else None


def record_sign_out(db: Session, user_id: int, now: datetime) -> None:
    """Void every dashboard session of the user issued up to `now`; the caller commits."""
    row = db.get(MetaValue, _signed_out_key(user_id))
    if row is None:
        db.add(MetaValue(key=_signed_out_key(user_id), value=now.isoformat()))
    else:
        row.value = now.isoformat()
