"""Apply observations to the per-(host, check) state machine and carry out the ticket rules.

Both the ingest path (agent results) and the staleness sweep (the "host" reachability pseudo-check)
go through `apply`, so soft/hard handling, state-change rows and tickets behave the same everywhere.
The caller holds the host's row lock and the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain import flapping
from fernwart.collector.domain.state import CheckStatus, StateType, advance
from fernwart.collector.domain.tickets import Action, TicketPolicy, decide
from fernwart.collector.models import CHECK_STATES, STATE_CHANGES, Host, Ticket
from fernwart.collector.services import tickets, windows


@dataclass(frozen=True)
class Observation:
    """One status observed for a check at `at` (a stored result, or the host's reachability)."""

    check_name: str
    status: Status
    summary: str
    at: datetime
    max_attempts: int
    check_type: str = ""
    interval: int | None = None
    result_id: str | None = None


@dataclass
class Outcome:
    """What applying a batch did, for metrics and the API answer."""

    state_changes: int = 0
    tickets_opened: int = 0
    tickets_resolved: int = 0
    out_of_order: int = 0
    held_back_flapping: int = 0
    actions: list[tuple[str, Action]] = field(default_factory=list)


def apply(
    session: Session,
    host: Host,
    observations: Iterable[Observation],
    now: datetime,
    policy: TicketPolicy,
) -> Outcome:
    """Advance each observed check's state in time order and open/update/resolve tickets.

    Observations older than the check's last applied one (late replays) are history only: they are
    stored by the caller but do not move the state backwards.
    """
    ordered = sorted(observations, key=lambda o: o.at)
    outcome = Outcome()
    if not ordered:
        return outcome
    names = {o.check_name for o in ordered}
    table = CHECK_STATES  # Core rows, not ORM objects: this is the ingest hot path
    rows: dict[str, Row[Any]] = {
        r.check_name: r
        for r in session.execute(
            select(table).where(table.c.host_id == host.id, table.c.check_name.in_(names))
        )
    }
    loaded: dict[str, Ticket] | None = None

    def open_tickets() -> dict[str, Ticket]:
        """Load the host's open tickets on first need: most batches (all OK) never need them."""
        nonlocal loaded
        if loaded is None:
            loaded = {
                t.check_name: t
                for t in session.scalars(
                    select(Ticket).where(Ticket.host_id == host.id, Ticket.open_key.is_not(None))
                )
            }
        return loaded

    new_rows: dict[str, dict[str, object]] = {}
    changes: list[dict[str, object]] = []
    repeated: dict[int, int] = {}
    current: dict[str, tuple[CheckStatus, datetime]] = {}
    flaps: dict[str, tuple[str, bool]] = {}
    for obs in ordered:
        row = rows.get(obs.check_name)
        pending = new_rows.get(obs.check_name)
        before, last_at = current.get(obs.check_name) or _status_of(row)
        if last_at is not None and obs.at < last_at:
            outcome.out_of_order += 1
            continue
        tr = advance(before, obs.status, obs.max_attempts)
        current[obs.check_name] = (tr.after, obs.at)
        history, was_flapping = flaps.get(obs.check_name) or (
            (row.flap_history, row.flapping) if row is not None else ("", False)
        )
        history = flapping.remember(history, int(obs.status))
        percent = flapping.percent_state_change(history)
        flapping_now = flapping.is_flapping(was_flapping, percent)
        flaps[obs.check_name] = (history, flapping_now)
        values: dict[str, object] = {
            "flap_history": history,
            "flapping": flapping_now,
            "flap_percent": round(percent, 2),
            "check_type": obs.check_type,
            "status": int(tr.after.status),
            "state_type": tr.after.state_type.value,
            "attempt": tr.after.attempt,
            "max_attempts": obs.max_attempts,
            "hard_status": int(tr.after.hard_status),
            "interval": obs.interval,
            "last_result_id": obs.result_id,
            "last_observed_at": obs.at,
            "last_summary": obs.summary,
        }
        if tr.changed:
            values["last_change_at"] = obs.at
            changes.append(
                {
                    "host_id": host.id,
                    "check_name": obs.check_name,
                    "at": obs.at,
                    "status": int(tr.after.status),
                    "previous_status": int(tr.before.status) if tr.before else None,
                    "state_type": tr.after.state_type.value,
                    "hard": tr.hard_changed,
                    "attempt": tr.after.attempt,
                    "result_id": obs.result_id,
                    "summary": obs.summary[:4096],
                }
            )
        if tr.hard_changed:
            values["last_hard_change_at"] = obs.at
        if row is None and pending is None:
            values.setdefault("last_change_at", obs.at)
            values.setdefault("last_hard_change_at", obs.at)
        new_rows[obs.check_name] = {**(pending or {}), **values}
        if tr.hard_changed:
            _ticket_step(
                session,
                host,
                obs,
                tr.before.hard_status if tr.before else None,
                tr.after.hard_status,
                open_tickets(),
                now,
                policy,
                outcome,
                flapping_now,
            )
        elif was_flapping and not flapping_now and tr.after.hard_status is not Status.OK:
            # Flapping is over and the check still fails: the ticket held back is due now.
            if obs.check_name not in open_tickets():
                _ticket_step(
                    session,
                    host,
                    obs,
                    Status.OK,
                    tr.after.hard_status,
                    open_tickets(),
                    now,
                    policy,
                    outcome,
                    False,
                )
        elif obs.status is not Status.OK and tr.after.state_type is StateType.HARD:
            open_ticket = open_tickets().get(obs.check_name)
            if open_ticket is not None:
                repeated[open_ticket.id] = repeated.get(open_ticket.id, 0) + 1
    _write_states(session, host.id, rows, new_rows)
    if changes:
        session.connection().execute(insert(STATE_CHANGES), changes)
        outcome.state_changes = len(changes)
    for ticket_id, count in repeated.items():
        session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(occurrences=Ticket.occurrences + count, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return outcome


def _status_of(row: Row[Any] | None) -> tuple[CheckStatus | None, datetime | None]:
    if row is None:
        return None, None
    status = CheckStatus(Status(row.status), StateType(row.state_type), row.attempt, Status(row.hard_status))
    return status, row.last_observed_at


def _ticket_step(
    session: Session,
    host: Host,
    obs: Observation,
    previous: Status | None,
    current: Status,
    open_tickets: dict[str, Ticket],
    now: datetime,
    policy: TicketPolicy,
    outcome: Outcome,
    flapping_now: bool = False,
) -> None:
    ticket = open_tickets.get(obs.check_name)
    last_resolved: Ticket | None = None
    if ticket is None and current is not Status.OK:
        last_resolved = session.scalar(
            select(Ticket)
            .where(Ticket.host_id == host.id, Ticket.check_name == obs.check_name, Ticket.state == "resolved")
            .order_by(Ticket.resolved_at.desc())
            .limit(1)
        )
    action = decide(
        current,
        previous,
        ticket is not None,
        last_resolved.resolved_at if last_resolved else None,
        obs.at,
        policy,
    )
    if action in (Action.OPEN, Action.REOPEN) and flapping_now:
        outcome.held_back_flapping += 1  # a flapping check opens no ticket until it settles
        action = Action.NONE
    if action in (Action.OPEN, Action.REOPEN):
        window = windows.covering(session, host.customer_id, host.name, obs.check_name, obs.at)
        if window is not None:  # inside maintenance: no ticket, no page; the result is stored all the same
            windows.log(
                session,
                obs.at,
                host.customer_id,
                window.name,
                "ticket_suppressed",
                host.id,
                obs.check_name,
                f"{current.name}: {obs.summary}"[:1000],
            )
            action = Action.NONE
    outcome.actions.append((obs.check_name, action))
    if action is Action.OPEN:
        open_tickets[obs.check_name] = tickets.open_ticket(
            session, host, obs.check_name, current, obs.summary, obs.at, now
        )
        outcome.tickets_opened += 1
    elif action is Action.REOPEN and last_resolved is not None:
        tickets.reopen(session, last_resolved, current, obs.summary, obs.at, now)
        open_tickets[obs.check_name] = last_resolved
        outcome.tickets_opened += 1
    elif action is Action.UPDATE and ticket is not None:
        tickets.add_failure(session, ticket, current, obs.summary, obs.at, now)
    elif action is Action.RECOVER and ticket is not None:
        tickets.recover(session, ticket, obs.summary, obs.at, now, policy.resolve_on_recovery)
        if policy.resolve_on_recovery:
            del open_tickets[obs.check_name]
            outcome.tickets_resolved += 1


STATE_FIELDS = (
    "flap_history",
    "flapping",
    "flap_percent",
    "check_type",
    "status",
    "state_type",
    "attempt",
    "max_attempts",
    "hard_status",
    "interval",
    "last_result_id",
    "last_observed_at",
    "last_summary",
    "last_change_at",
    "last_hard_change_at",
)


# One statement for all of a batch's state updates on PostgreSQL (an executemany is a round trip each).
_PG_UPDATE = text(
    """
    UPDATE check_states AS c SET
        check_type = u.check_type, status = u.status, state_type = u.state_type, attempt = u.attempt,
        max_attempts = u.max_attempts, hard_status = u.hard_status, interval = u.interval,
        last_result_id = u.last_result_id, last_observed_at = u.last_observed_at,
        last_summary = u.last_summary, last_change_at = u.last_change_at,
        last_hard_change_at = u.last_hard_change_at, flap_history = u.flap_history,
        flapping = u.flapping, flap_percent = u.flap_percent
    FROM json_to_recordset(CAST(:rows AS json)) AS u(
        b_check text, check_type text, status smallint, state_type text, attempt int, max_attempts int,
        hard_status smallint, interval int, last_result_id text, last_observed_at timestamptz,
        last_summary text, last_change_at timestamptz, last_hard_change_at timestamptz,
        flap_history text, flapping boolean, flap_percent float8)
    WHERE c.host_id = :host_id AND c.check_name = u.b_check
    """
)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _write_states(
    session: Session,
    host_id: str,
    rows: dict[str, Row[Any]],
    new_rows: dict[str, dict[str, object]],
) -> None:
    """Insert new check states and update changed ones, each as one executemany."""
    table = CHECK_STATES
    conn = session.connection()
    inserts = [{"host_id": host_id, "check_name": n, **v} for n, v in new_rows.items() if n not in rows]
    if inserts:
        conn.execute(insert(table), inserts)
    updates = []
    for name, values in new_rows.items():
        row = rows.get(name)
        if row is None:
            continue
        merged = {f: values.get(f, getattr(row, f)) for f in STATE_FIELDS}
        updates.append({"b_host": host_id, "b_check": name, **merged})
    if updates and conn.dialect.name == "postgresql":
        conn.execute(_PG_UPDATE, {"host_id": host_id, "rows": json.dumps(updates, default=_iso)})
    elif updates:
        statement = (
            update(table)
            .where(table.c.host_id == bindparam("b_host"), table.c.check_name == bindparam("b_check"))
            .values({f: bindparam(f) for f in STATE_FIELDS})
        )
        conn.execute(statement, updates)


def open_ticket_count(session: Session) -> int:
    """Return how many tickets are open."""
    return int(
        session.scalar(select(func.count()).select_from(Ticket).where(Ticket.open_key.is_not(None))) or 0
    )
