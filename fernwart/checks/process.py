"""Count the processes that match a name, a command line pattern and/or a user.

```yaml
- name: nginx-running
  type: process
  interval: 60
  process_name: nginx      # exact process name (as in ps -e); optional
  cmdline: "master process"  # regular expression searched in the joined command line; optional
  user: www-data           # owner; optional
  min_count: 1             # fewer is CRITICAL (default 1)
  max_count: 50            # more is CRITICAL (default: no limit)
  warning: "2:"            # optional range on the count, e.g. warn below 2 workers
```

All given criteria must match; none given counts every process. The agent's own process is never
counted. Processes that vanish while being listed are skipped, and so are those that deny reading what a
criterion needs; kernel threads and zombies have an empty command line. Metric: ``procs``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status


@dataclass(frozen=True)
class ProcessOptions:
    """Configure the process check: match criteria and count limits."""

    process_name: str | None = field(default=None, metadata={"help": "exact process name (as in ps -e)"})
    cmdline: str | None = field(default=None, metadata={"help": "regex searched in the command line"})
    user: str | None = field(default=None, metadata={"help": "owning user name"})
    min_count: int = field(default=1, metadata={"help": "fewer matching processes is CRITICAL"})
    max_count: int | None = field(default=None, metadata={"help": "more matching processes is CRITICAL"})

    def __post_init__(self) -> None:
        if self.cmdline is not None:
            try:
                re.compile(self.cmdline)
            except re.error as exc:
                raise OptionError("cmdline", f"not a regular expression: {exc}") from None
        if self.min_count < 0:
            raise OptionError("min_count", "expected 0 or more")
        if self.max_count is not None and self.max_count < self.min_count:
            raise OptionError("max_count", f"expected at least min_count ({self.min_count})")


class ProcessCheck(BaseCheck[ProcessOptions]):
    """Count matching processes and compare the count with min/max and the thresholds."""

    Options = ProcessOptions
    threshold_help = "number of matching processes (optional; min_count/max_count are CRITICAL limits)"

    def describe_match(self) -> str:
        """Return the criteria as text, e.g. ``process_name=nginx user=www-data``."""
        o = self.options
        criteria = (("process_name", o.process_name), ("cmdline", o.cmdline), ("user", o.user))
        parts = [f"{k}={v}" for k, v in criteria if v]
        return " ".join(parts) or "all"

    def run(self, probe: Probe) -> CheckResult:
        o = self.options
        pattern = re.compile(o.cmdline) if o.cmdline else None
        own_pid = os.getpid()
        count = 0
        # only what the criteria need: each attribute is a /proc read per process, every run
        wanted = (("name", o.process_name), ("username", o.user), ("cmdline", o.cmdline))
        attrs = frozenset(attr for attr, criterion in wanted if criterion is not None)
        for proc in probe.processes(attrs):
            if proc.pid == own_pid:
                continue
            if o.process_name is not None and proc.name != o.process_name:
                continue
            if o.user is not None and proc.username != o.user:
                continue
            if pattern is not None and (proc.cmdline is None or not pattern.search(" ".join(proc.cmdline))):
                continue
            count += 1
        status = self.classify(count)
        limits = f"min {o.min_count}" + (f", max {o.max_count}" if o.max_count is not None else "")
        if count < o.min_count or (o.max_count is not None and count > o.max_count):
            status = Status.CRITICAL
        text = f"{count} process{'es' if count != 1 else ''} matching {self.describe_match()}"
        if status is not Status.OK:
            text += f" ({limits})"
        metric = self.metric("procs", count, min=0)
        return conclude([Finding(status, text)], [metric])
