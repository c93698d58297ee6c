"""Apply observations to the per-(host, check) state and carry out the ticket decisions: the ingest shell.

Both the ingest path (agent results) and the staleness sweep (the host's reachability pseudo-check) go
through `apply`, so soft/hard handling, state-change rows and tickets behave the same everywhere. The
decisions are `domain.checkstate.step` and `decide_ticket`; this module loads what they need (the stored
states in one query; the flap thresholds of the host's contract once per batch; the host's tickets and
maintenance windows once, on the batch's first ticket trigger) and writes what they return. The caller
holds the host's row lock and the transaction.

What runs inside the ingest transaction, and why: results, check states, state changes, and every ticket
write that follows from them (the ticket row, its history, its SLA due times, the queued notification
rows and the maintenance-log entry). They are one fact: a committed state change without its ticket, or a
ticket without its page, would be lost on a crash, since nothing replays the decision. What talks to the
outside world (mail, webhooks) runs after commit, in the delivery job, from the queued rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.checkstate import (
    Change,
    CheckRecord,
    HeldBack,
    Observation,
    Step,
    Trigger,
    decide_ticket,
    step,
)
from fernwart.collector.domain.flapping import FlapRules
from fernwart.collector.domain.state import CheckStatus, StateType
from fernwart.collector.domain.tickets import Action, TicketPolicy, TicketState
from fernwart.collector.domain.windows import MaintenanceWindow, covering
from fernwart.collector.models import CHECK_STATES, STATE_CHANGES, Host, Ticket
from fernwart.collector.services import tickets, windows
from fernwart.collector.services.contracts import contract_of
from fernwart.protocol import HOST_CHECK

__all__ = ["BatchOutcome", "Observation", "apply", "apply_many"]


@dataclass
class BatchOutcome:
    """What applying a batch did, for metrics and the API answer."""

    state_changes: int = 0
    tickets_opened: int = 0
    tickets_resolved: int = 0
    late: int = 0  # observations older than their check's last one: history only
    held_back: int = 0  # ticket openings held back (flapping or maintenance)


class _TicketFacts:
    """The host's open and recently resolved tickets and its maintenance windows, loaded once on need.

    Most batches (all OK) never need them, so nothing is loaded until the first ticket trigger.
    """

    def __init__(self, session: Session, host: Host, earliest: datetime, policy: TicketPolicy) -> None:
        self.session = session
        self.host = host
        self.since = earliest - policy.reopen_window
        self.loaded = False
        self.open: dict[str, Ticket] = {}
        self.resolved: dict[str, Ticket] = {}
        self.windows: Sequence[MaintenanceWindow] = ()
        # the host's reachability as the batch goes (replayed results land before the host is up again)
        self.unreachable = host.state == "unreachable"

    def load(self) -> _TicketFacts:
        if not self.loaded:
            for ticket in self.session.scalars(
                select(Ticket)
                .where(Ticket.host_id == self.host.id)
                .where(
                    Ticket.open_key.is_not(None)
                    | ((Ticket.state == TicketState.RESOLVED) & (Ticket.resolved_at >= self.since))
                )
                .order_by(Ticket.resolved_at)
            ):
                if ticket.open_key is not None:
                    self.open[ticket.check_name] = ticket
                else:  # ordered by resolution: the last one resolved wins
                    self.resolved[ticket.check_name] = ticket
            self.windows = windows.windows_of(self.session, self.host.customer_id)
            self.loaded = True
        return self

    def window_at(self, check_name: str, at: datetime) -> MaintenanceWindow | None:
        return covering(self.windows, self.host.name, check_name, at)


def apply(
    session: Session,
    host: Host,
    observations: Iterable[Observation],
    now: datetime,
    policy: TicketPolicy,
) -> BatchOutcome:
    """Advance each observed check's state in time order and open, update or resolve its ticket.

    Late observations (older than the check's last applied one) are history only: stored by the caller,
    they do not move the state backwards.
    """
    ordered = sorted(observations, key=lambda o: o.at)
    outcome = BatchOutcome()
    if not ordered:
        return outcome
    table = CHECK_STATES  # Core rows, not ORM objects: this is the ingest hot path
    rows: dict[str, Row[Any]] = {
        r.check_name: r
        for r in session.execute(
            select(table).where(
                table.c.host_id == host.id, table.c.check_name.in_({o.check_name for o in ordered})
            )
        )
    }
    records = {name: _record_of(row) for name, row in rows.items()}
    contract = contract_of(session, host.customer_id)
    flap_rules = contract.contract.flapping if contract is not None else FlapRules()
    facts = _TicketFacts(session, host, ordered[0].at, policy)
    new_rows: dict[str, dict[str, object]] = {}
    changes: list[dict[str, object]] = []
    for obs in ordered:
        done = step(records.get(obs.check_name), obs, flap_rules.for_check(obs.check_name))
        if done is None:
            outcome.late += 1
            continue
        new = obs.check_name not in records and obs.check_name not in new_rows
        records[obs.check_name] = done.record
        new_rows[obs.check_name] = {**new_rows.get(obs.check_name, {}), **_values(obs, done, new)}
        if done.change is not None:
            changes.append(_change_row(host.id, obs.check_name, done.change))
        if obs.check_name == HOST_CHECK:
            facts.unreachable = done.record.state.hard_status is not Status.OK
        if done.trigger is not None:
            _carry_out(session, host, obs, done, facts.load(), now, policy, outcome)
    _write_states(session, host.id, rows, new_rows)
    if changes:
        session.connection().execute(insert(STATE_CHANGES), changes)
        outcome.state_changes = len(changes)
    return outcome


def apply_many(
    session: Session,
    items: Sequence[tuple[Host, Observation, TicketPolicy]],
    now: datetime,
) -> BatchOutcome:
    """Apply one observation to each of many hosts (the sweep's reachability), in a few statements.

    The states of all hosts' checks are read in one query and written in one executemany each (new
    states, updated states, state changes). A host whose observation may touch a ticket (one is open,
    or the decision would open, reopen, update or hold one back) goes through `apply` on its own, so
    tickets behave exactly as for a single host; under a policy that opens nothing (a mass silence's
    hosts) that is only the rare host whose own ticket is open. Hosts must be distinct and locked.
    """
    outcome = BatchOutcome()
    if not items:
        return outcome
    table = CHECK_STATES
    host_ids = [host.id for host, _, _ in items]
    names = {obs.check_name for _, obs, _ in items}
    rows: dict[tuple[str, str], Row[Any]] = {
        (r.host_id, r.check_name): r
        for r in session.execute(
            select(table).where(table.c.host_id.in_(host_ids), table.c.check_name.in_(names))
        )
    }
    tickets_of: dict[tuple[str, str], list[tuple[bool, datetime | None]]] = {}
    earliest = min(obs.at for _, obs, _ in items) - max(p.reopen_window for _, _, p in items)
    for host_id, check_name, key, resolved_at in session.execute(
        select(Ticket.host_id, Ticket.check_name, Ticket.open_key, Ticket.resolved_at).where(
            Ticket.host_id.in_(host_ids),
            Ticket.check_name.in_(names),
            Ticket.open_key.is_not(None)
            | ((Ticket.state == TicketState.RESOLVED) & (Ticket.resolved_at >= earliest)),
        )
    ):
        tickets_of.setdefault((host_id, check_name), []).append((key is not None, resolved_at))
    flap_rules: dict[int | None, FlapRules] = {}
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    changes: list[dict[str, object]] = []
    alone: list[tuple[Host, Observation, TicketPolicy]] = []
    for host, obs, policy in items:
        if host.customer_id not in flap_rules:
            contract = contract_of(session, host.customer_id)
            flap_rules[host.customer_id] = contract.contract.flapping if contract else FlapRules()
        row = rows.get((host.id, obs.check_name))
        done = step(
            _record_of(row) if row is not None else None,
            obs,
            flap_rules[host.customer_id].for_check(obs.check_name),
        )
        if done is None:
            outcome.late += 1
            continue
        if done.trigger is not None and _may_touch_ticket(
            done, tickets_of.get((host.id, obs.check_name), []), obs.at, policy
        ):
            alone.append((host, obs, policy))
            continue
        values = _values(obs, done, row is None)
        if row is None:
            inserts.append({"host_id": host.id, "check_name": obs.check_name, **values})
        else:
            merged = {f: values.get(f, getattr(row, f)) for f in STATE_FIELDS}
            updates.append({"b_host": host.id, "b_check": obs.check_name, **merged})
        if done.change is not None:
            changes.append(_change_row(host.id, obs.check_name, done.change))
    conn = session.connection()
    if inserts:
        conn.execute(insert(table), inserts)
    if updates:
        conn.execute(_update_by_key(), updates)
    if changes:
        conn.execute(insert(STATE_CHANGES), changes)
        outcome.state_changes += len(changes)
    for host, obs, policy in alone:
        one = apply(session, host, [obs], now, policy)
        outcome.state_changes += one.state_changes
        outcome.tickets_opened += one.tickets_opened
        outcome.tickets_resolved += one.tickets_resolved
        outcome.held_back += one.held_back
        outcome.late += one.late
    return outcome


def _may_touch_ticket(
    done: Step, tickets: list[tuple[bool, datetime | None]], at: datetime, policy: TicketPolicy
) -> bool:
    """Return whether `done`'s trigger could act on a ticket (then the host takes the single path)."""
    assert done.trigger is not None
    ticket_open = any(is_open for is_open, _ in tickets)
    resolved = [r for is_open, r in tickets if not is_open and r is not None]
    decision = decide_ticket(
        done.trigger,
        ticket_open=ticket_open,
        last_resolved_at=max(resolved) if resolved else None,
        in_maintenance=False,  # maintenance only holds back an opening, which counts here already
        at=at,
        policy=policy,
    )
    return decision.action is not Action.NONE or decision.held_back is not None


def _update_by_key() -> Any:
    table = CHECK_STATES
    return (
        update(table)
        .where(table.c.host_id == bindparam("b_host"), table.c.check_name == bindparam("b_check"))
        .values({f: bindparam(f) for f in STATE_FIELDS})
    )


def _record_of(row: Row[Any]) -> CheckRecord:
    state = CheckStatus(Status(row.status), StateType(row.state_type), row.attempt, Status(row.hard_status))
    return CheckRecord(
        state=state, observed_at=row.last_observed_at, flap_history=row.flap_history, flapping=row.flapping
    )


def _change_row(host_id: str, check_name: str, change: Change) -> dict[str, object]:
    return {
        "host_id": host_id,
        "check_name": check_name,
        "at": change.at,
        "status": int(change.status),
        "previous_status": None if change.previous_status is None else int(change.previous_status),
        "state_type": change.state_type.value,
        "hard": change.hard,
        "attempt": change.attempt,
        "result_id": change.result_id,
        "summary": change.summary,
    }


def _values(obs: Observation, done: Step, new: bool) -> dict[str, object]:
    """Return the check_states columns `done` sets (a new row also gets its first change times)."""
    state = done.record.state
    values: dict[str, object] = {
        "flap_history": done.record.flap_history,
        "flapping": done.record.flapping,
        "flap_percent": round(done.flap_percent, 2),
        "check_type": obs.check_type,
        "status": int(state.status),
        "state_type": state.state_type.value,
        "attempt": state.attempt,
        "max_attempts": obs.max_attempts,
        "hard_status": int(state.hard_status),
        "interval": obs.interval,
        "last_result_id": obs.result_id,
        "last_observed_at": obs.at,
        "last_summary": obs.summary,
    }
    if done.change is not None or new:
        values["last_change_at"] = obs.at
    if done.hard_changed or new:
        values["last_hard_change_at"] = obs.at
    return values


def _carry_out(
    session: Session,
    host: Host,
    obs: Observation,
    done: Step,
    facts: _TicketFacts,
    now: datetime,
    policy: TicketPolicy,
    outcome: BatchOutcome,
) -> None:
    """Decide the check's ticket action for `done` and carry it out."""
    assert done.trigger is not None
    name = obs.check_name
    ticket = facts.open.get(name)
    resolved = facts.resolved.get(name) if ticket is None else None
    window = facts.window_at(name, obs.at)
    decision = decide_ticket(
        done.trigger,
        ticket_open=ticket is not None,
        last_resolved_at=resolved.resolved_at if resolved is not None else None,
        in_maintenance=window is not None,
        at=obs.at,
        policy=policy,
        host_unreachable=name != HOST_CHECK and facts.unreachable,
    )
    current = done.trigger.current
    if decision.held_back is not None:
        outcome.held_back += 1
    if decision.held_back is HeldBack.MAINTENANCE and window is not None and done.trigger.kind is not (
        Trigger.REPEATED
    ):
        # inside maintenance: no ticket, no page; the result is stored all the same (logged once per
        # HARD change, not for every repeated result)
        message = f"{current.name}: {obs.summary}"
        windows.log(
            session, obs.at, host.customer_id, window.name, "ticket_suppressed", host.id, name, message
        )
    action = decision.action
    if action is Action.OPEN:
        facts.open[name] = tickets.open_ticket(
            session, host, name, current, obs.summary, obs.at, now, windows=facts.windows
        )
        outcome.tickets_opened += 1
    elif action is Action.REOPEN and resolved is not None:
        tickets.reopen(session, resolved, current, obs.summary, obs.at, now)
        facts.open[name] = resolved
        del facts.resolved[name]
        outcome.tickets_opened += 1
    elif action is Action.UPDATE and ticket is not None:
        tickets.add_failure(session, ticket, current, obs.summary, obs.at, now)
    elif action is Action.RECOVER and ticket is not None:
        tickets.recover(session, ticket, obs.summary, obs.at, now, policy.resolve_on_recovery)
        if policy.resolve_on_recovery:
            del facts.open[name]
            facts.resolved[name] = ticket
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
        conn.execute(_update_by_key(), updates)
