"""Reading a host's state timeline for one month: per object (the `host` pseudo-check and each check),
the spans of its HARD status, as the host page draws them.

The month is a calendar month in the host's customer's contract timezone (UTC without one), like the
availability report's; the spans come from the same rows the availability service reads (`state_changes`
with `hard` set; a SOFT first row means the hard status is still OK), so the picture and the report's
figures agree. Before an object's first change in or before the month its state is unknown (no data);
the part of the month after `now` is not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.availability import month_period
from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.models import Host, StateChange
from fernwart.collector.services.auth import Account
from fernwart.collector.services.availability import timezone_of
from fernwart.collector.services.errors import Invalid, NotFound
from fernwart.collector.services.read.scope import visible
from fernwart.protocol import HOST_CHECK

NO_DATA = "NO_DATA"


@dataclass(frozen=True, slots=True)
class Span:
    """From `start` to `end` the object's hard status was `status` (a Status name, or NO_DATA)."""

    start: datetime
    end: datetime
    status: str


@dataclass(frozen=True)
class ObjectTimeline:
    name: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class HostTimeline:
    """A host's month: [start, end) in UTC, drawn up to `measured_to`; `objects` host first, then by name."""

    month: str
    timezone: str
    start: datetime
    end: datetime
    measured_to: datetime
    objects: tuple[ObjectTimeline, ...]


def current_month(now: datetime, timezone: str) -> str:
    """Return the month ("YYYY-MM") that `now` falls in, in `timezone`."""
    local = now.astimezone(load_zone(timezone))
    return f"{local.year:04}-{local.month:02}"


def shift_month(month: str, months: int) -> str:
    """Return "YYYY-MM" moved by `months` (negative: back)."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 + months
    return f"{index // 12:04}-{index % 12 + 1:02}"


def of_host(
    session: Session, account: Account, host_id: str, month: str | None, now: datetime
) -> HostTimeline:
    """Return the host's timeline for `month` (the running month when None).

    NotFound when the account may not see the host; Invalid for a malformed month or one outside
    2000-2099.
    """
    host = session.scalar(select(Host).where(Host.id == host_id).where(visible(account)))
    if host is None:
        raise NotFound(f"host {host_id} not found")
    timezone = timezone_of(session, host.customer_id) if host.customer_id is not None else "UTC"
    month = month or current_month(now, timezone)
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise Invalid("month: expected YYYY-MM")
    if not 2000 <= int(month[:4]) < 2100 or not 1 <= int(month[5:]) <= 12:
        raise Invalid("month: expected YYYY-MM from 2000-01 to 2099-12")
    start, end = month_period(month, timezone)
    measured_to = max(start, min(end, now))
    changes = _changes(session, host_id, start, measured_to)
    objects = [
        ObjectTimeline(name, tuple(_spans(rows, start, measured_to)))
        for name, rows in sorted(changes.items(), key=lambda kv: (kv[0] != HOST_CHECK, kv[0]))
    ]
    return HostTimeline(month, timezone, start, end, measured_to, tuple(objects))


def _changes(
    session: Session, host_id: str, start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, str]]]:
    """Return check -> (at, hard status name) of its hard changes in [start, end), led by its last before."""
    prior = dict(
        session.execute(
            select(StateChange.check_name, func.max(StateChange.at))
            .where(StateChange.host_id == host_id, StateChange.hard.is_(True), StateChange.at < start)
            .group_by(StateChange.check_name)
        ).all()
    )
    found: dict[str, list[tuple[datetime, str]]] = {}
    for name, at in prior.items():
        row = session.execute(
            select(StateChange.status, StateChange.state_type)
            .where(StateChange.host_id == host_id, StateChange.check_name == name)
            .where(StateChange.hard.is_(True), StateChange.at == at)
            .order_by(StateChange.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            found[name] = [(start, _hard_name(row[0], row[1]))]
    rows = session.execute(
        select(StateChange.check_name, StateChange.at, StateChange.status, StateChange.state_type)
        .where(StateChange.host_id == host_id, StateChange.hard.is_(True))
        .where(StateChange.at >= start, StateChange.at < end)
        .order_by(StateChange.check_name, StateChange.at, StateChange.id)
    )
    for name, at, status, state_type in rows:
        found.setdefault(name, []).append((at, _hard_name(status, state_type)))
    return found


def _hard_name(status: int, state_type: str) -> str:
    return Status(status).name if state_type == "HARD" else Status.OK.name


def _spans(changes: list[tuple[datetime, str]], start: datetime, end: datetime) -> list[Span]:
    """Return the spans covering [start, end): no data until the first change, equal neighbours merged."""
    spans: list[Span] = []
    edges = [(start, NO_DATA), *changes] if not changes or changes[0][0] > start else changes
    for (at, status), following in zip(edges, [*edges[1:], (end, "")], strict=True):
        until = following[0]
        if until <= at:
            continue
        if spans and spans[-1].status == status:
            spans[-1] = Span(spans[-1].start, until, status)
        else:
            spans.append(Span(at, until, status))
    return spans
