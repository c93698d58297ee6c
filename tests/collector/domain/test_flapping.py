from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fernwart.collector.domain.flapping import HISTORY, is_flapping, percent_state_change, remember


def test_steady_history_has_no_state_change() -> None:
    assert percent_state_change("0" * 21) == 0.0


def test_alternating_history_is_one_hundred_percent() -> None:
    assert percent_state_change("02" * 10 + "0") == pytest.approx(100.0)


def test_recent_changes_weigh_more_than_old_ones() -> None:
    oldest_change = "2" + "0" * 20  # the first transition changes
    newest_change = "0" * 20 + "2"  # the last transition changes
    assert percent_state_change(oldest_change) == pytest.approx(0.75 * 100 / 20)
    assert percent_state_change(newest_change) == pytest.approx(1.25 * 100 / 20)


def test_not_enough_history_never_flaps() -> None:
    assert percent_state_change("0202020202") == 0.0


def test_hysteresis_between_low_and_high() -> None:
    assert not is_flapping(False, 19.9) and is_flapping(False, 20.0)
    assert is_flapping(True, 5.0) and not is_flapping(True, 4.9)


@given(st.text(alphabet="0123", min_size=0, max_size=40), st.integers(0, 3))
def test_history_keeps_the_last_21_and_percent_stays_in_range(history: str, status: int) -> None:
    kept = remember(history, status)
    assert len(kept) == min(len(history) + 1, HISTORY) and kept.endswith(str(status))
    assert 0.0 <= percent_state_change(kept) <= 100.0 + 1e-9
