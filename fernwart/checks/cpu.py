"""CPU usage averaged over the time since the previous run (or a short window on the first run).

```yaml
- name: cpu
  type: cpu
  interval: 60
  warning: 90          # percent busy (defaults: 90 / 95)
  critical: 95
  window: 1.0          # seconds sampled on the first run, before a previous sample exists
  per_core: false      # true: also a metric and a status per core
```

Busy time is everything but idle and iowait; guest time is already inside user/nice and not counted
twice. Metrics: ``cpu`` (%), ``iowait`` and ``steal`` (%), and ``cpuN`` per core when asked. When the
counters went backwards (a VM restored from a snapshot) the run samples a fresh window instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.probe import Probe
from fernwart.checks.ranges import Range
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status

_NOT_COUNTED = ("guest", "guest_nice")  # Linux counts these inside user and nice already


@dataclass(frozen=True)
class CpuOptions:
    """Configure the cpu check: the first run's window and per-core reporting."""

    window: float = field(default=1.0, metadata={"help": "seconds to sample on the first run"})
    per_core: bool = field(default=False, metadata={"help": "report and judge every core too"})


@dataclass(frozen=True)
class CpuShares:
    """Percentages of one CPU (or all) between two samples."""

    busy: float
    iowait: float
    steal: float


def shares(before: Any, after: Any) -> CpuShares | None:
    """Return busy/iowait/steal percentages between two cpu_times samples; None if no time passed."""
    fields = [f for f in after._fields if f not in _NOT_COUNTED]
    deltas = {f: getattr(after, f) - getattr(before, f) for f in fields}
    total = sum(deltas.values())
    if total <= 0 or any(d < 0 for d in deltas.values()):
        return None
    idle = deltas.get("idle", 0.0) + deltas.get("iowait", 0.0)
    return CpuShares(
        busy=100.0 * (total - idle) / total,
        iowait=100.0 * deltas.get("iowait", 0.0) / total,
        steal=100.0 * deltas.get("steal", 0.0) / total,
    )


class CpuCheck(BaseCheck[CpuOptions]):
    """Measure CPU usage between runs, in percent busy, optionally per core."""

    Options = CpuOptions
    default_warning = "90"
    default_critical = "95"
    threshold_help = "percent of CPU time busy (per core too with per_core)"

    def __init__(
        self, options: CpuOptions, warning: Range | None = None, critical: Range | None = None,
    ) -> None:
        super().__init__(options, warning, critical)
        self._previous: tuple[Any, Sequence[Any]] | None = None

    def _sample(self, probe: Probe) -> tuple[Any, Sequence[Any]]:
        total = probe.psutil.cpu_times()
        cores = probe.psutil.cpu_times(percpu=True) if self.options.per_core else ()
        return total, cores

    def run(self, probe: Probe) -> CheckResult:
        now = self._sample(probe)
        overall = shares(self._previous[0], now[0]) if self._previous else None
        if overall is None:
            probe.sleep(min(self.options.window, max(probe.timeout / 2, 0.05)))
            before, now = now, self._sample(probe)
            overall = shares(before[0], now[0])
        else:
            before = self._previous or now
        self._previous = now
        if overall is None:
            return CheckResult(Status.UNKNOWN, "CPU counters did not advance")
        findings = [Finding(self.classify(overall.busy), f"CPU {overall.busy:.1f}% busy")]
        metrics = [
            self.metric("cpu", round(overall.busy, 2), "%", min=0, max=100),
            self.metric("iowait", round(overall.iowait, 2), "%", thresholds=False, min=0, max=100),
            self.metric("steal", round(overall.steal, 2), "%", thresholds=False, min=0, max=100),
        ]
        for index, (old, new) in enumerate(zip(before[1], now[1], strict=False)):
            core = shares(old, new)
            if core is None:
                continue
            metrics.append(self.metric(f"cpu{index}", round(core.busy, 2), "%", min=0, max=100))
            status = self.classify(core.busy)
            if status is not Status.OK:
                findings.append(Finding(status, f"core {index} {core.busy:.1f}% busy"))
        return conclude(findings, metrics)
