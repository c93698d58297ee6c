"""Auto-diagnosis rules: which diagnostic playbook runs when a ticket opens, with which parameters.

A check names one in the agent's config (`on_ticket: disk-full`); a contract may name them by check
name or glob, the first matching rule winning, in the contract YAML::

    on_ticket:
      - {check: "disk*", playbook: disk-full}
      - {check: "app-*", playbook: service-down, params: {lines: 100}}

The check's own choice wins over the contract's. Parameters come from the rule, then the check's
options of the same name (a path parameter from the check's `path`), then the playbook's defaults.
Nothing runs inside a maintenance window covering the check, and only diagnostic playbooks run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

_RULE_KEYS = {"check", "playbook", "params"}


@dataclass(frozen=True)
class AutoDiagnosis:
    """One contract rule: checks matching `check` (a name or glob) run `playbook` when a ticket opens."""

    check: str
    playbook: str
    params: Mapping[str, Any] = field(default_factory=dict)


def parse_rules(value: object) -> tuple[AutoDiagnosis, ...]:
    """Return the rules of a contract's `on_ticket` list; raise ValueError naming the place."""
    if not isinstance(value, list):
        raise ValueError(f"expected a list of {{check, playbook, params}}, got {value!r}")
    rules = []
    for index, item in enumerate(value):
        place = f"[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{place}: expected a mapping with check and playbook, got {item!r}")
        unknown = sorted(str(k) for k in item if k not in _RULE_KEYS)
        if unknown:
            raise ValueError(f"{place}.{unknown[0]}: unknown key; expected check, playbook or params")
        check, playbook, params = item.get("check"), item.get("playbook"), item.get("params") or {}
        if not isinstance(check, str) or not check.strip():
            raise ValueError(f"{place}.check: expected a check name or glob, got {check!r}")
        if not isinstance(playbook, str) or not playbook.strip():
            raise ValueError(f"{place}.playbook: expected a playbook name, got {playbook!r}")
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, (str, int, bool)) for k, v in params.items()
        ):
            raise ValueError(f"{place}.params: expected a mapping of names to values, got {params!r}")
        rules.append(AutoDiagnosis(check, playbook, dict(params)))
    return tuple(rules)


def choose(check_name: str, reported: Mapping[str, Any] | None,
           rules: Sequence[AutoDiagnosis]) -> tuple[str, dict[str, Any]] | None:
    """Return (playbook, given parameters) for a ticket of `check_name`, or None when nothing is named.

    `reported` is what the host's agent said of that check (its `on_ticket` and `params`); a check the
    agent did not report (the host pseudo-check, a mass-silence incident) gets no auto-diagnosis.
    """
    if reported is None:
        return None
    if reported.get("on_ticket"):
        return str(reported["on_ticket"]), dict(reported.get("params") or {})
    rule = next((r for r in rules if fnmatchcase(check_name, r.check)), None)
    return (rule.playbook, dict(rule.params)) if rule is not None else None
