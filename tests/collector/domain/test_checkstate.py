"""The pure decision of ingest (domain.checkstate): an observation in; state, change, ticket action out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fernwart.checks.status import Status
from fernwart.collector.domain.checkstate import (
    CheckRecord,
    HeldBack,
    Observation,
    TicketTrigger,
    Trigger,
    decide_ticket,
    step,
)
from fernwart.collector.domain.state import StateType
from fernwart.collector.domain.tickets import Action, TicketPolicy

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = TicketPolicy()


def observe(status: Status, minute: int, max_attempts: int = 3) -> Observation:
    return Observation(
        check_name="disk", status=status, summary=f"disk {status.name}", at=T0 + timedelta(minutes=minute),
        max_attempts=max_attempts, result_id=f"r{minute}",
    )


def trigger(kind: Trigger, previous: Status | None, current: Status, flapping: bool = False) -> TicketTrigger:
    return TicketTrigger(kind=kind, previous=previous, current=current, flapping=flapping)


def walk(statuses: list[Status], max_attempts: int = 3) -> list[tuple[Trigger | None, bool]]:
    record: CheckRecord | None = None
    seen = []
    for minute, status in enumerate(statuses):
        done = step(record, observe(status, minute, max_attempts))
        assert done is not None
        record = done.record
        seen.append((done.trigger.kind if done.trigger else None, done.change is not None))
    return seen


def test_a_first_observation_is_a_change_from_nothing() -> None:
    done = step(None, observe(Status.CRITICAL, 0, max_attempts=1))
    assert done is not None and done.change is not None
    change = done.change
    assert (change.previous_status, change.status, change.hard) == (None, Status.CRITICAL, True)
    assert done.record.state.state_type is StateType.HARD and done.change.result_id == "r0"
    assert done.trigger == trigger(Trigger.HARD_CHANGE, None, Status.CRITICAL)


def test_soft_failures_trigger_nothing_until_hard_then_each_repeat_counts() -> None:
    seen = walk([Status.OK, Status.CRITICAL, Status.CRITICAL, Status.CRITICAL, Status.CRITICAL])
    assert seen == [
        (Trigger.HARD_CHANGE, True),  # first result: from nothing to hard OK (opens nothing)
        (None, True),  # SOFT 1
        (None, False),  # SOFT 2: only the attempt moves, no change row
        (Trigger.HARD_CHANGE, True),
        (Trigger.REPEATED, False),
    ]


def test_a_late_observation_moves_nothing() -> None:
    done = step(None, observe(Status.OK, 5))
    assert done is not None
    assert step(done.record, observe(Status.CRITICAL, 4)) is None


def test_a_flapping_check_holds_its_ticket_back() -> None:
    flapping = trigger(Trigger.HARD_CHANGE, Status.OK, Status.CRITICAL, flapping=True)
    decision = decide_ticket(
        flapping, ticket_open=False, last_resolved_at=None, in_maintenance=False, at=T0, policy=POLICY
    )
    assert (decision.action, decision.held_back) == (Action.NONE, HeldBack.FLAPPING)


def test_maintenance_holds_back_an_opening_but_not_a_recovery() -> None:
    failing = trigger(Trigger.HARD_CHANGE, Status.OK, Status.CRITICAL)
    held = decide_ticket(
        failing, ticket_open=False, last_resolved_at=None, in_maintenance=True, at=T0, policy=POLICY
    )
    assert (held.action, held.held_back) == (Action.NONE, HeldBack.MAINTENANCE)
    recovered = trigger(Trigger.HARD_CHANGE, Status.CRITICAL, Status.OK)
    done = decide_ticket(
        recovered, ticket_open=True, last_resolved_at=None, in_maintenance=True, at=T0, policy=POLICY
    )
    assert (done.action, done.held_back) == (Action.RECOVER, None)


def test_a_repeat_opens_only_without_an_open_ticket_and_a_settled_check_opens_only_once() -> None:
    repeat = trigger(Trigger.REPEATED, Status.CRITICAL, Status.CRITICAL)
    common = {"last_resolved_at": None, "in_maintenance": False, "at": T0, "policy": POLICY}
    assert decide_ticket(repeat, ticket_open=True, **common).action is Action.NONE  # type: ignore[arg-type]
    assert decide_ticket(repeat, ticket_open=False, **common).action is Action.OPEN  # type: ignore[arg-type]
    warning = trigger(Trigger.REPEATED, Status.WARNING, Status.WARNING)  # not in open_on
    assert decide_ticket(warning, ticket_open=False, **common).action is Action.NONE  # type: ignore[arg-type]
    settled = trigger(Trigger.SETTLED, Status.OK, Status.CRITICAL)
    assert decide_ticket(settled, ticket_open=False, **common).action is Action.OPEN  # type: ignore[arg-type]
    assert decide_ticket(settled, ticket_open=True, **common).action is Action.NONE  # type: ignore[arg-type]


def test_a_recurrence_within_the_reopen_window_reopens() -> None:
    failing = trigger(Trigger.HARD_CHANGE, Status.OK, Status.CRITICAL)
    decision = decide_ticket(
        failing, ticket_open=False, last_resolved_at=T0 - timedelta(minutes=10), in_maintenance=False,
        at=T0, policy=POLICY,
    )
    assert decision.action is Action.REOPEN
