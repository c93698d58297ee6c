"""Swap space in use, in percent of the total.

```yaml
- name: swap
  type: swap
  interval: 300
  warning: 50          # percent used (defaults: 50 / 80)
  critical: 80
  no_swap: ok          # status when the host has no swap at all: ok, warning, critical or unknown
```

Metrics: ``swap`` (% used), ``swap_used`` (B, max = total). A host without swap has no percentage;
its status is ``no_swap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from fernwart.checks.units import format_bytes


@dataclass(frozen=True)
class SwapOptions:
    """Configure the swap check: what a host without swap is."""

    no_swap: str = field(
        default="ok", metadata={"help": "status of a host without swap: ok, warning, critical, unknown"},
    )

    def __post_init__(self) -> None:
        try:
            Status.parse(self.no_swap)
        except ValueError as exc:
            raise OptionError("no_swap", str(exc)) from None


class SwapCheck(BaseCheck[SwapOptions]):
    """Measure swap space in use as a percentage of the total."""

    Options = SwapOptions
    default_warning = "50"
    default_critical = "80"
    threshold_help = "percent of swap used"

    def run(self, probe: Probe) -> CheckResult:
        sw = probe.psutil.swap_memory()
        total, used = float(sw.total), float(sw.used)
        if total <= 0:
            return CheckResult(
                Status.parse(self.options.no_swap), "no swap configured",
                (self.metric("swap_used", 0.0, "B", thresholds=False, min=0, max=0),),
            )
        percent = 100.0 * used / total
        return CheckResult(
            self.classify(percent),
            f"swap {percent:.1f}% used ({format_bytes(used)} of {format_bytes(total)})",
            (
                self.metric("swap", round(percent, 2), "%", min=0, max=100),
                self.metric("swap_used", used, "B", thresholds=False, min=0, max=total),
            ),
        )
