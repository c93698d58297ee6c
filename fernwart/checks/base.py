"""The check contract: a check is configured once and then `run(probe) -> CheckResult` many times.

A check type is a class registered by name in `checks.registry.CHECK_TYPES`. It declares:

- ``Options``: a frozen dataclass of its type-specific options (see `checks.options`);
- ``default_warning`` / ``default_critical``: threshold texts used when the config gives none;
- ``__init__(options, warning, critical)`` and ``run(probe)``.

`BaseCheck` provides that constructor, and `BaseCheck.from_config` builds a check from YAML values
(raising `OptionError` naming the key); a check that keeps state between runs (cpu deltas) keeps it
on the instance, so the agent must build each configured check once and reuse it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from fernwart.checks.options import OptionError, build
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import Probe
from fernwart.checks.ranges import Range, RangeError, evaluate
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status, worst

SUMMARY_LIMIT = 1000  # characters; the wire allows 4096, a dashboard line far fewer


class Check(Protocol):
    """One configured check; `run` must not raise for expected failures (return UNKNOWN instead)."""

    def run(self, probe: Probe) -> CheckResult: ...


@dataclass(frozen=True)
class NoOptions:
    """For check types without type-specific options."""


OptionsT = TypeVar("OptionsT")


class BaseCheck(Generic[OptionsT]):
    """Holds a check's options and thresholds; subclasses implement `run`."""

    Options: ClassVar[type[Any]] = NoOptions
    default_warning: ClassVar[str | None] = None
    default_critical: ClassVar[str | None] = None
    accepts_thresholds: ClassVar[bool] = True  # False where thresholds live elsewhere (plugin arguments)
    threshold_help: ClassVar[str] = ""  # what warning/critical are compared with, for the catalog

    @classmethod
    def from_config(
        cls, options: Mapping[str, Any] | None = None,
        warning: str | float | None = None, critical: str | float | None = None,
    ) -> Self:
        """Build a check from its YAML options and threshold texts (None: the type's defaults).

        Raise OptionError naming the key (an option, ``warning`` or ``critical``) on any mismatch.
        """
        built = build(cls.Options, options or {})
        ranges: dict[str, Range | None] = {}
        for key, text in (("warning", warning), ("critical", critical)):
            if text is not None and not cls.accepts_thresholds:
                raise OptionError(key, "this check type takes no thresholds (give them in its options)")
            try:
                ranges[key] = Range.parse(text) if text is not None else None
            except RangeError as exc:
                expected = "expected a range like 10, 10:, ~:10, 10:20 or @10:20"
                raise OptionError(key, f"{exc}; {expected}") from None
        return cls(built, ranges["warning"], ranges["critical"])

    def __init__(
        self, options: OptionsT, warning: Range | None = None, critical: Range | None = None,
    ) -> None:
        self.options = options
        self.warning = warning if warning is not None else _maybe(self.default_warning)
        self.critical = critical if critical is not None else _maybe(self.default_critical)

    def run(self, probe: Probe) -> CheckResult:
        raise NotImplementedError

    def classify(self, value: float) -> Status:
        """Return the status of `value` against this check's warning and critical ranges."""
        return evaluate(value, self.warning, self.critical)

    def metric(
        self,
        label: str,
        value: float | None,
        uom: str = "",
        *,
        thresholds: bool = True,
        min: float | None = None,
        max: float | None = None,
    ) -> PerfDatum:
        """Return a perfdata item, carrying this check's thresholds when `thresholds` is True."""
        return PerfDatum(
            label=label,
            value=value,
            uom=uom,
            warn=str(self.warning) if thresholds and self.warning else "",
            crit=str(self.critical) if thresholds and self.critical else "",
            min=min,
            max=max,
        )


@dataclass(frozen=True)
class Finding:
    """One observation of a check with its own status, e.g. one mount point of the disk check."""

    status: Status
    text: str


def conclude(
    findings: Iterable[Finding], metrics: Iterable[PerfDatum] = (), long_output: Iterable[str] = (),
    *, empty: str = "nothing to check",
) -> CheckResult:
    """Return a result with the worst status of `findings`; the summary names the non-OK ones first.

    With only OK findings the summary lists them all; with none the result is OK with `empty` as summary.
    The summary is cut at SUMMARY_LIMIT characters.
    """
    items = list(findings)
    if not items:
        return CheckResult(Status.OK, empty, tuple(metrics), "\n".join(long_output))
    status = worst([f.status for f in items])
    rank = {Status.CRITICAL: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.OK: 3}
    shown = sorted((f for f in items if f.status != Status.OK), key=lambda f: rank[f.status]) or items
    summary = "; ".join(f.text for f in shown)
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 3] + "..."
    return CheckResult(status, summary, tuple(metrics), "\n".join(long_output))


def _maybe(text: str | None) -> Range | None:
    return Range.parse(text) if text is not None else None
