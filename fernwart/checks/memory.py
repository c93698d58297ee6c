"""Memory in use, in percent of the total, counting page cache and buffers as free (``available``).

```yaml
- name: memory
  type: memory
  interval: 60
  warning: 90          # percent used (defaults: 90 / 95)
  critical: 95
```

Metrics: ``memory`` (% used), ``memory_used`` and ``memory_available`` (B, max = total).
"""

from __future__ import annotations

from fernwart.checks.base import BaseCheck, NoOptions
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.units import format_bytes


class MemoryCheck(BaseCheck[NoOptions]):
    """Measure memory in use as a percentage of the total (available memory counts as free)."""

    default_warning = "90"
    default_critical = "95"
    threshold_help = "percent of memory used (total minus available)"

    def run(self, probe: Probe) -> CheckResult:
        vm = probe.psutil.virtual_memory()
        total = float(vm.total)
        if total <= 0:
            return unknown( "the system reports no memory")
        used = total - float(vm.available)
        percent = 100.0 * used / total
        return CheckResult(
            self.classify(percent),
            f"memory {percent:.1f}% used ({format_bytes(used)} of {format_bytes(total)})",
            (
                self.metric("memory", round(percent, 2), "%", min=0, max=100),
                self.metric("memory_used", used, "B", thresholds=False, min=0, max=total),
                self.metric("memory_available", float(vm.available), "B", thresholds=False, min=0, max=total),
            ),
        )
