from __future__ import annotations

import pytest

from fernwart.checks.status import Status
from fernwart.collector.domain.state import CheckStatus, StateType, advance

OK, WARN, CRIT = Status.OK, Status.WARNING, Status.CRITICAL


def run(statuses: list[Status], max_attempts: int = 3) -> list[tuple[str, str, int, str, bool]]:
    state: CheckStatus | None = None
    seen = []
    for s in statuses:
        tr = advance(state, s, max_attempts)
        state = tr.after
        seen.append(
            (
                state.status.name,
                state.state_type.value,
                state.attempt,
                state.hard_status.name,
                tr.hard_changed,
            )
        )
    return seen


def test_failure_is_soft_until_max_attempts_then_hard() -> None:
    assert run([OK, CRIT, CRIT, CRIT, CRIT]) == [
        ("OK", "HARD", 1, "OK", True),
        ("CRITICAL", "SOFT", 1, "OK", False),
        ("CRITICAL", "SOFT", 2, "OK", False),
        ("CRITICAL", "HARD", 3, "CRITICAL", True),
        ("CRITICAL", "HARD", 3, "CRITICAL", False),
    ]


def test_soft_recovery_never_changes_the_hard_state() -> None:
    steps = run([OK, CRIT, CRIT, OK])
    assert [s[4] for s in steps] == [True, False, False, False]
    assert steps[-1][:2] == ("OK", "HARD")


def test_status_change_while_soft_keeps_counting_attempts() -> None:
    steps = run([OK, WARN, CRIT, CRIT])
    assert steps[-1] == ("CRITICAL", "HARD", 3, "CRITICAL", True)


def test_hard_status_change_between_problems_is_a_hard_change() -> None:
    steps = run([CRIT, CRIT, CRIT, WARN], max_attempts=3)
    assert steps[-1] == ("WARNING", "HARD", 3, "WARNING", True)


def test_hard_recovery() -> None:
    steps = run([CRIT, OK], max_attempts=1)
    assert steps == [("CRITICAL", "HARD", 1, "CRITICAL", True), ("OK", "HARD", 1, "OK", True)]


@pytest.mark.parametrize("max_attempts", [0, 1])
def test_max_attempts_one_or_less_is_hard_at_once(max_attempts: int) -> None:
    tr = advance(CheckStatus(OK, StateType.HARD, 1, OK), CRIT, max_attempts)
    assert tr.after.state_type is StateType.HARD and tr.hard_changed


def test_first_result_is_a_change_from_pending() -> None:
    tr = advance(None, OK, 3)
    assert tr.changed and tr.before is None
