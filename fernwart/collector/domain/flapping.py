"""Flap detection as Nagios Core does it (base/flapping.c, check_for_service_flapping).

What is recorded: every result except a SOFT problem. OK results (a hard recovery, a soft recovery, a
steady OK) and HARD problems are appended to the history; a SOFT non-OK result is neither recorded nor
judged: history, percent and the flapping flag stay as they were (Nagios returns early). So a check with
`max_attempts: 3` that bounces OK/CRITICAL without ever going HARD records only its OKs and never flaps.

The percent state change: the history is the last 21 recorded statuses, oldest first. Each of the 20
transitions between neighbours that changes status counts with a weight rising linearly from 0.75
(oldest) to 1.25 (newest); the sum, times 100 / 20, is the percent (0..100), computed in the same order
of operations as Nagios, so the figures agree to the last bit.

The first 20 results: Nagios' history starts as 21 zeros (OK: the service is calloc'ed), not as the
first status, and is judged from the first recorded result on. Fernwart does the same: a history shorter
than 21 entries is padded with OK in front. A check whose very first result is a HARD problem therefore
shows one change at the newest weight, 6.25 %: above the default low threshold (5 %) but below the high one
(20 %), so it does not start flapping; a check that bounces HARD from its first result is caught after
four changes instead of after 21 results of opening and resolving tickets.

Hysteresis, as Nagios: at or above `high` a check starts flapping; at or below `low` it stops; strictly
between both, nothing changes. Defaults are low 5 / high 20, the values of Nagios' sample nagios.cfg
(low_service_flap_threshold=5.0, high_service_flap_threshold=20.0); Nagios' compiled-in defaults, used
when nagios.cfg leaves them out, are 20 / 30. A contract may set other thresholds per check (`FlapRules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from fernwart.checks.status import Status
from fernwart.collector.domain.state import StateType

HISTORY = 21  # Nagios' MAX_STATE_HISTORY_ENTRIES
LOW_CURVE, HIGH_CURVE = 0.75, 1.25
PAD = str(int(Status.OK))  # what an unfilled slot of Nagios' zeroed history holds


@dataclass(frozen=True)
class FlapThresholds:
    """Percent state change at which a check starts (`high`) and stops (`low`) flapping.

    Raise ValueError unless 0 < low < high <= 100 (Nagios refuses low outside 0..100 and high outside
    0..100 as well; low < high keeps the band between both, which is what makes the hysteresis).
    """

    low: float = 5.0
    high: float = 20.0

    def __post_init__(self) -> None:
        for name, value in (("low", self.low), ("high", self.high)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name}: expected a percentage, got {value!r}")
        if not 0 < self.low < 100 or not 0 < self.high <= 100 or self.low >= self.high:
            raise ValueError(
                f"expected 0 < low < high <= 100 (percent state change), got low {self.low!r}, "
                f"high {self.high!r}"
            )


DEFAULT_THRESHOLDS = FlapThresholds()
_RULES_KEYS = {"low", "high", "checks"}
_RULE_KEYS = {"check", "low", "high"}


@dataclass(frozen=True)
class FlapRule:
    """Thresholds for the checks whose name matches `check` (an exact name or a glob like ``backup*``)."""

    check: str
    thresholds: FlapThresholds


@dataclass(frozen=True)
class FlapRules:
    """A contract's flap thresholds: its default, and per-check rules (the first matching one wins).

    In the contract YAML::

        flapping:
          low: 5            # default 5
          high: 20          # default 20
          checks:           # optional; a rule may leave out low or high: the contract's value applies
            - {check: "backup*", low: 10, high: 40}
    """

    default: FlapThresholds = DEFAULT_THRESHOLDS
    checks: tuple[FlapRule, ...] = ()

    def for_check(self, check_name: str) -> FlapThresholds:
        """Return the thresholds for `check_name`: the first rule matching it, else the default."""
        for rule in self.checks:
            if fnmatchcase(check_name, rule.check):
                return rule.thresholds
        return self.default

    @classmethod
    def parse(cls, value: object) -> FlapRules:
        """Return the rules of a contract's `flapping` mapping; raise ValueError naming the key."""
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a mapping with low, high and checks, got {value!r}")
        unknown = sorted(str(k) for k in value if k not in _RULES_KEYS)
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}; expected one of {', '.join(sorted(_RULES_KEYS))}")
        default = FlapThresholds(
            value.get("low", DEFAULT_THRESHOLDS.low), value.get("high", DEFAULT_THRESHOLDS.high)
        )
        raw = value.get("checks", [])
        if not isinstance(raw, list):
            raise ValueError(f"checks: expected a list of {{check, low, high}}, got {raw!r}")
        rules: list[FlapRule] = []
        for index, item in enumerate(raw):
            place = f"checks[{index}]"
            if not isinstance(item, Mapping):
                raise ValueError(f"{place}: expected a mapping with check, low and high, got {item!r}")
            unknown = sorted(str(k) for k in item if k not in _RULE_KEYS)
            if unknown:
                raise ValueError(f"{place}.{unknown[0]}: unknown key; expected check, low or high")
            check = item.get("check")
            if not isinstance(check, str) or not check.strip():
                raise ValueError(f"{place}.check: expected a check name or glob, got {check!r}")
            try:
                thresholds = FlapThresholds(item.get("low", default.low), item.get("high", default.high))
            except ValueError as exc:
                raise ValueError(f"{place}: {exc}") from None
            rules.append(FlapRule(check.strip(), thresholds))
        return cls(default, tuple(rules))


def records(status: Status, state_type: StateType) -> bool:
    """Return whether Nagios records a result in the flap history: every one but a SOFT problem."""
    return status is Status.OK or state_type is StateType.HARD


def percent_state_change(history: str) -> float:
    """Return Nagios' weighted percent state change of `history` (one character per status, oldest first).

    A history shorter than 21 entries is padded in front with OK, as Nagios' zeroed history is.
    """
    recent = (PAD * HISTORY + history)[-HISTORY:]
    changes = 0.0
    for x in range(1, HISTORY):
        if recent[x] != recent[x - 1]:
            changes += (x - 1) * (HIGH_CURVE - LOW_CURVE) / (HISTORY - 2) + LOW_CURVE
    return changes * 100.0 / (HISTORY - 1)


def is_flapping(
    was_flapping: bool, percent: float, thresholds: FlapThresholds = DEFAULT_THRESHOLDS
) -> bool:
    """Return whether a check flaps now: from `high` up it does, at `low` or below it does not, in between
    it stays as it was."""
    if percent <= thresholds.low:
        return False
    if percent >= thresholds.high:
        return True
    return was_flapping


def remember(history: str, status: int) -> str:
    """Return `history` with `status` appended, keeping the last 21 entries."""
    return (history + str(status))[-HISTORY:]
