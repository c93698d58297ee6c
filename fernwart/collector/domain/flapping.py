"""Flap detection as Nagios does it: weighted percent state change over the last 21 results.

The history holds the last 21 statuses, oldest first. Each of the 20 transitions between neighbours that
changes state counts with a weight rising linearly from 0.75 (oldest) to 1.25 (newest), so recent changes
weigh more; the sum over 20 transitions, in percent, is the state change. A check starts flapping when the
change reaches `high` (Nagios' default high_service_flap_threshold, 20 %) and stops once it falls below
`low` (5 %): the gap between both keeps it from toggling. With fewer than 21 results nothing flaps.
"""

from __future__ import annotations

from dataclasses import dataclass

HISTORY = 21
LOW_CURVE, HIGH_CURVE = 0.75, 1.25


@dataclass(frozen=True)
class FlapThresholds:
    low: float = 5.0
    high: float = 20.0


def percent_state_change(history: str) -> float:
    """Return Nagios' weighted percent state change of `history` (one character per status, oldest first).

    Histories shorter than 21 entries give 0.0: there is not enough evidence yet.
    """
    if len(history) < HISTORY:
        return 0.0
    recent = history[-HISTORY:]
    changes = 0.0
    for x in range(1, HISTORY):
        if recent[x] != recent[x - 1]:
            changes += (x - 1) * (HIGH_CURVE - LOW_CURVE) / (HISTORY - 2) + LOW_CURVE
    return changes * 100.0 / (HISTORY - 1)


def is_flapping(was_flapping: bool, percent: float, thresholds: FlapThresholds = FlapThresholds()) -> bool:
    """Return whether a check flaps now, with hysteresis: start at >= high, stop below low."""
    if was_flapping:
        return percent >= thresholds.low
    return percent >= thresholds.high


def remember(history: str, status: int) -> str:
    """Return `history` with `status` appended, keeping the last 21 entries."""
    return (history + str(status))[-HISTORY:]
