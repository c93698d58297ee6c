"""Time since boot; a low uptime means the host rebooted.

```yaml
- name: rebooted
  type: uptime
  interval: 300
  warning: "3600:"     # seconds since boot; the default warns for the first hour after a reboot
  critical: null       # e.g. "600:" to make a fresh reboot CRITICAL
```

The threshold must exceed the check interval, or a reboot can pass unseen between two runs.
Metric: ``uptime`` (s).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fernwart.checks.base import BaseCheck, NoOptions
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from fernwart.checks.units import format_duration


class UptimeCheck(BaseCheck[NoOptions]):
    """Report the time since boot and flag a recent reboot."""

    default_warning = "3600:"
    threshold_help = "seconds since boot (ranges like 3600: alert below)"

    def run(self, probe: Probe) -> CheckResult:
        booted = datetime.fromtimestamp(float(probe.psutil.boot_time()), UTC)
        uptime = max((probe.now() - booted).total_seconds(), 0.0)
        status = self.classify(uptime)
        summary = f"up {format_duration(uptime)} (booted {booted:%Y-%m-%d %H:%M} UTC)"
        if status is not Status.OK:
            summary = f"rebooted {format_duration(uptime)} ago (booted {booted:%Y-%m-%d %H:%M} UTC)"
        return CheckResult(status, summary, (self.metric("uptime", round(uptime), "s", min=0),))
