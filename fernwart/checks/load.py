"""System load averages over 1, 5 and 15 minutes, by default divided by the number of CPUs.

```yaml
- name: load
  type: load
  interval: 60
  per_core: true       # divide by the logical CPU count (default); false: raw load averages
  warning: 2           # applies to each of load1, load5, load15 (defaults: 2 / 4 per core)
  critical: 4
```

Metrics: ``load1``, ``load5``, ``load15`` (per core when ``per_core``), each with the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import worst


@dataclass(frozen=True)
class LoadOptions:
    """Configure the load check: raw or per-core load."""

    per_core: bool = field(default=True, metadata={"help": "divide the load by the logical CPU count"})


class LoadCheck(BaseCheck[LoadOptions]):
    """Measure the 1/5/15-minute load averages, per core by default."""

    Options = LoadOptions
    default_warning = "2"
    default_critical = "4"
    threshold_help = "each load average (per core when per_core)"

    def run(self, probe: Probe) -> CheckResult:
        try:
            averages = probe.psutil.getloadavg()
        except (OSError, AttributeError) as exc:
            return unknown(f"load averages unavailable: {exc}")
        cores = (probe.psutil.cpu_count() or 1) if self.options.per_core else 1
        values = [float(v) / cores for v in averages]
        statuses = [self.classify(v) for v in values]
        text = ", ".join(f"{v:.2f}" for v in values)
        what = f"load per core ({cores} CPUs)" if self.options.per_core else "load"
        metrics = [
            self.metric(f"load{n}", round(v, 3), min=0) for n, v in zip((1, 5, 15), values, strict=True)
        ]
        return conclude([Finding(worst(statuses), f"{what} {text}")], metrics)
