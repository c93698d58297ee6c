"""The check contract: a check is configured once and then `run(probe) -> CheckResult` many times.

A check type is a class registered by name in `checks.registry.CHECK_TYPES`. It declares:

- ``Options``: a frozen dataclass of its type-specific options (see `checks.options`);
- ``default_warning`` / ``default_critical``: threshold texts used when the config gives none;
- ``__init__(options, warning, critical)`` and ``run(probe)``.

`BaseCheck` provides that constructor; a check that needs more state overrides ``__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from checks.perfdata import PerfDatum
from checks.probe import Probe
from checks.ranges import Range, evaluate
from checks.result import CheckResult
from checks.status import Status


class Check(Protocol):
    """One configured check; `run` must not raise for expected failures (return UNKNOWN instead)."""

    def run(self, probe: Probe) -> CheckResult: ...


@dataclass(frozen=True)
class NoOptions:
    """For check types without type-specific options."""


O = TypeVar("O")


class BaseCheck(Generic[O]):
    """Holds a check's options and thresholds; subclasses implement `run`."""

    Options: ClassVar[type[Any]] = NoOptions
    default_warning: ClassVar[str | None] = None
    default_critical: ClassVar[str | None] = None

    def __init__(self, options: O, warning: Range | None = None, critical: Range | None = None) -> None:
        self.options = options
        self.warning = warning if warning is not None else _maybe(self.default_warning)
        self.critical = critical if critical is not None else _maybe(self.default_critical)

    def run(self, probe: Probe) -> CheckResult:
        raise NotImplementedError

    def classify(self, value: float) -> Status:
        """Return the status of `value` against this check's warning and critical ranges."""
        return evaluate(value, self.warning, self.critical)

    def metric(
        self, label: str, value: float | None, uom: str = "", *, thresholds: bool = True,
        min: float | None = None, max: float | None = None,
    ) -> PerfDatum:
        """Return a perfdata item, carrying this check's thresholds when `thresholds` is True."""
        return PerfDatum(
            label=label, value=value, uom=uom,
            warn=str(self.warning) if thresholds and self.warning else "",
            crit=str(self.critical) if thresholds and self.critical else "",
            min=min, max=max,
        )


def _maybe(text: str | None) -> Range | None:
    return Range.parse(text) if text is not None else None
