"""Flap detection, held against Nagios Core's own function transcribed as an oracle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fernwart.checks.status import Status
from fernwart.collector.domain.checkstate import CheckRecord, Observation, step
from fernwart.collector.domain.flapping import (
    DEFAULT_THRESHOLDS,
    HISTORY,
    FlapRules,
    FlapThresholds,
    is_flapping,
    percent_state_change,
    remember,
)
from fernwart.collector.domain.state import CheckStatus, StateType

T0 = datetime(2026, 12, 1, tzinfo=UTC)

# --- The oracle: Nagios Core 4.x base/flapping.c, check_for_service_flapping(svc, update=TRUE, ...), with
# the fields it reads and writes. Transcribed line by line (the ring buffer, the index, the early return for
# SOFT problems, the order of floating-point operations); flap notifications, comments and logging left out.
# The service starts as common/objects.c leaves it: calloc'ed, so state_history is 21 zeros (STATE_OK).
MAX_STATE_HISTORY_ENTRIES = 21
STATE_OK, SOFT_STATE, HARD_STATE = 0, 0, 1


@dataclass
class NagiosService:
    low_flap_threshold: float
    high_flap_threshold: float
    current_state: int = STATE_OK
    state_type: int = HARD_STATE
    state_history: list[int] = field(default_factory=lambda: [0] * MAX_STATE_HISTORY_ENTRIES)
    state_history_index: int = 0
    percent_state_change: float = 0.0
    is_flapping: bool = False


def check_for_service_flapping(svc: NagiosService) -> None:
    low_curve_value, high_curve_value = 0.75, 1.25
    # only hard states and soft recoveries get recorded for flap detection
    if svc.state_type == SOFT_STATE and svc.current_state != STATE_OK:
        return
    low_threshold = svc.low_flap_threshold
    high_threshold = svc.high_flap_threshold
    svc.state_history[svc.state_history_index] = svc.current_state
    svc.state_history_index += 1
    if svc.state_history_index >= MAX_STATE_HISTORY_ENTRIES:
        svc.state_history_index = 0
    curved_changes = 0.0
    last_state_history_value = STATE_OK
    y = svc.state_history_index
    for x in range(MAX_STATE_HISTORY_ENTRIES):
        if x == 0:
            last_state_history_value = svc.state_history[y]
            y += 1
            if y >= MAX_STATE_HISTORY_ENTRIES:
                y = 0
            continue
        if last_state_history_value != svc.state_history[y]:
            curved_changes += (
                ((x - 1) * (high_curve_value - low_curve_value)) / (MAX_STATE_HISTORY_ENTRIES - 2)
            ) + low_curve_value
        last_state_history_value = svc.state_history[y]
        y += 1
        if y >= MAX_STATE_HISTORY_ENTRIES:
            y = 0
    curved_percent_change = (curved_changes * 100.0) / (MAX_STATE_HISTORY_ENTRIES - 1)
    svc.percent_state_change = curved_percent_change
    if curved_percent_change > low_threshold and curved_percent_change < high_threshold:
        return
    elif curved_percent_change <= low_threshold:
        flapping = False
    elif curved_percent_change >= high_threshold:
        flapping = True
    if flapping and not svc.is_flapping:
        svc.is_flapping = True  # set_service_flap
    elif not flapping and svc.is_flapping:
        svc.is_flapping = False  # clear_service_flap


Run = list[tuple[float, bool]]  # (percent state change, flapping) after each result


def nagios_run(statuses: list[int], max_attempts: int, thresholds: FlapThresholds) -> Run:
    """Return Nagios' (percent, is_flapping) after each result. SOFT/HARD as Nagios counts attempts: a
    problem is HARD once `max_attempts` consecutive non-OK results have come in."""
    svc = NagiosService(thresholds.low, thresholds.high)
    seen: Run = []
    problems = 0
    for status in statuses:
        problems = problems + 1 if status != STATE_OK else 0
        svc.current_state = status
        svc.state_type = HARD_STATE if status == STATE_OK or problems >= max_attempts else SOFT_STATE
        check_for_service_flapping(svc)
        seen.append((svc.percent_state_change, svc.is_flapping))
    return seen


def fernwart_run(statuses: list[int], max_attempts: int, thresholds: FlapThresholds) -> Run:
    record: CheckRecord | None = None
    seen: Run = []
    for i, status in enumerate(statuses):
        obs = Observation(check_name="app", status=Status(status), summary="", at=T0 + timedelta(minutes=i),
                          max_attempts=max_attempts)
        done = step(record, obs, thresholds)
        assert done is not None
        record = done.record
        seen.append((done.flap_percent, done.record.flapping))
    return seen


thresholds = st.tuples(st.floats(0.5, 60), st.floats(0.5, 60)).filter(lambda t: t[0] < t[1]).map(
    lambda t: FlapThresholds(round(t[0], 2), round(t[1], 2))
)
# Bursts make flapping and settling both likely: runs of one status, then runs of alternation.
sequences = st.lists(st.integers(0, 3), min_size=1, max_size=120)


@given(sequences, st.integers(1, 5), thresholds)
def test_every_step_agrees_with_nagios(
    statuses: list[int], max_attempts: int, limits: FlapThresholds
) -> None:
    assert fernwart_run(statuses, max_attempts, limits) == nagios_run(statuses, max_attempts, limits)


@given(st.lists(st.sampled_from([(0, 1), (2, 1), (0, 8), (2, 8), (1, 3)]), min_size=1, max_size=30),
       st.integers(1, 3))
def test_bursts_of_steady_and_bouncing_results_agree_with_nagios(runs: list[tuple[int, int]],
                                                                 max_attempts: int) -> None:
    statuses = [s for status, n in runs for s in [status] * n]
    for limits in (DEFAULT_THRESHOLDS, FlapThresholds(20, 30)):
        assert fernwart_run(statuses, max_attempts, limits) == nagios_run(statuses, max_attempts, limits)


def test_soft_bouncing_with_three_attempts_never_flaps() -> None:
    statuses = [0, 2] * 30  # OK, CRITICAL, OK, ...: CRITICAL is always SOFT 1/3, never HARD
    seen = fernwart_run(statuses, 3, DEFAULT_THRESHOLDS)
    assert all(percent == 0.0 and not flapping for percent, flapping in seen)
    assert seen == nagios_run(statuses, 3, DEFAULT_THRESHOLDS)


def test_hard_bouncing_flaps_after_four_changes() -> None:
    seen = fernwart_run([2, 0, 2, 0, 2], 1, DEFAULT_THRESHOLDS)
    assert [flapping for _, flapping in seen] == [False, False, False, True, True]
    assert seen[0][0] == pytest.approx(6.25)  # the first HARD problem: one change at the newest weight


def test_a_soft_problem_changes_no_flap_value() -> None:
    ok = CheckStatus(Status.OK, StateType.HARD, 1, Status.OK)
    record = CheckRecord(state=ok, observed_at=T0, flap_history="2020", flapping=True)
    soft = step(record, Observation(check_name="app", status=Status.CRITICAL, summary="", at=T0,
                                    max_attempts=3))
    assert soft is not None and soft.record.state.state_type is StateType.SOFT
    assert (soft.record.flap_history, soft.record.flapping) == ("2020", True)
    assert soft.flap_percent == percent_state_change("2020")


def test_steady_history_has_no_state_change() -> None:
    assert percent_state_change("0" * 21) == 0.0
    assert percent_state_change("2" * 21) == 0.0


def test_alternating_history_is_one_hundred_percent() -> None:
    assert percent_state_change("02" * 10 + "0") == pytest.approx(100.0)


def test_recent_changes_weigh_more_than_old_ones() -> None:
    oldest_change = "2" + "0" * 20  # the first transition changes
    newest_change = "0" * 20 + "2"  # the last transition changes
    assert percent_state_change(oldest_change) == pytest.approx(0.75 * 100 / 20)
    assert percent_state_change(newest_change) == pytest.approx(1.25 * 100 / 20)


def test_a_short_history_is_padded_with_ok_as_nagios_zeroes_it() -> None:
    assert percent_state_change("") == 0.0
    assert percent_state_change("2") == percent_state_change("0" * 20 + "2") == pytest.approx(6.25)
    assert percent_state_change("0202") == percent_state_change("0" * 17 + "0202")


def test_hysteresis_stops_at_low_inclusive_and_starts_at_high_inclusive() -> None:
    assert not is_flapping(False, 19.9) and is_flapping(False, 20.0)
    assert is_flapping(True, 5.01) and not is_flapping(True, 5.0)  # Nagios: <= low is not flapping
    assert is_flapping(True, 12.0) and not is_flapping(False, 12.0)  # in between: as it was


@given(st.text(alphabet="0123", min_size=0, max_size=40), st.integers(0, 3))
def test_history_keeps_the_last_21_and_percent_stays_in_range(history: str, status: int) -> None:
    kept = remember(history, status)
    assert len(kept) == min(len(history) + 1, HISTORY) and kept.endswith(str(status))
    assert 0.0 <= percent_state_change(kept) <= 100.0 + 1e-9


@pytest.mark.parametrize(
    ("low", "high"), [(0, 20), (20, 20), (30, 20), (5, 101), (100, 100), (True, 20), ("5", 20)]
)
def test_thresholds_outside_nagios_bounds_are_refused(low: float, high: float) -> None:
    with pytest.raises(ValueError):
        FlapThresholds(low, high)


def test_rules_per_check_first_match_wins_and_inherit_the_contract_values() -> None:
    rules = FlapRules.parse({"low": 10, "checks": [{"check": "backup*", "high": 40},
                                                   {"check": "backup-db", "low": 1, "high": 2}]})
    assert rules.default == FlapThresholds(10, 20)
    assert rules.for_check("backup-db") == FlapThresholds(10, 40)
    assert rules.for_check("disk") == FlapThresholds(10, 20)
    assert FlapRules.parse({}) == FlapRules()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"lo": 5}, "unknown key 'lo'"),
        ({"low": 30}, "0 < low < high"),
        ({"checks": {"a": 1}}, "checks: expected a list"),
        ({"checks": [{"check": ""}]}, "checks[0].check"),
        ({"checks": [{"check": "a", "low": 50}]}, "checks[0]: expected 0 < low < high"),
        ({"checks": [{"check": "a", "hi": 5}]}, "checks[0].hi: unknown key"),
    ],
)
def test_bad_rules_are_refused_naming_the_key(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        FlapRules.parse(spec)
