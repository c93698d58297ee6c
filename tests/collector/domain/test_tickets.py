from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fernwart.checks.status import Status
from fernwart.collector.domain.tickets import Action, TicketPolicy, decide

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = TicketPolicy()


def test_hard_critical_opens_a_ticket() -> None:
    assert decide(Status.CRITICAL, Status.OK, False, None, T0, POLICY) is Action.OPEN


def test_warning_opens_nothing_by_default_but_can_be_configured() -> None:
    assert decide(Status.WARNING, Status.OK, False, None, T0, POLICY) is Action.NONE
    policy = TicketPolicy(open_on=frozenset({Status.CRITICAL, Status.WARNING}))
    assert decide(Status.WARNING, Status.OK, False, None, T0, policy) is Action.OPEN


def test_a_further_failure_updates_the_open_ticket() -> None:
    assert decide(Status.WARNING, Status.CRITICAL, True, None, T0, POLICY) is Action.UPDATE


def test_recovery_recovers_only_an_open_ticket() -> None:
    assert decide(Status.OK, Status.CRITICAL, True, None, T0, POLICY) is Action.RECOVER
    assert decide(Status.OK, Status.CRITICAL, False, None, T0, POLICY) is Action.NONE


def test_recurrence_inside_the_reopen_window_reopens() -> None:
    resolved = T0 - timedelta(minutes=59)
    assert decide(Status.CRITICAL, Status.OK, False, resolved, T0, POLICY) is Action.REOPEN
    assert decide(Status.CRITICAL, Status.OK, False, T0 - timedelta(hours=2), T0, POLICY) is Action.OPEN
