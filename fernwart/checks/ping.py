"""ICMP round trip time and packet loss through the system ``ping``.

```yaml
- name: gateway
  type: ping
  interval: 60
  timeout: 15
  host: 192.0.2.1
  count: 5
  ip_version: null          # 4 or 6 to force a family
  warning: 100              # average round trip in ms (defaults: 100 / 500)
  critical: 500
  loss_warning: 20          # percent lost (defaults: 20 / 60)
  loss_critical: 60
```

Runs ``ping -n -c COUNT -i 0.2 -W SECONDS host`` (iputils, busybox). All packets lost is CRITICAL; a
name that does not resolve is UNKNOWN; a ping that cannot be started (missing, no permission for raw
sockets) is UNKNOWN. Metrics: ``rta`` (ms), ``pl`` (%), as check_ping names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.options import OptionError
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import Probe
from fernwart.checks.ranges import Range, evaluate
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status

_LOSS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received.*?([\d.]+)% packet loss")
_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/\w+)? = ([\d.]+)/([\d.]+)/([\d.]+)")


@dataclass(frozen=True)
class PingResult:
    """What ping reported: packets sent and received, loss, and rtt min/avg/max in ms (None if none)."""

    transmitted: int
    received: int
    loss: float
    rtt: tuple[float, float, float] | None


def parse_ping(text: str) -> PingResult | None:
    """Return the statistics of iputils or busybox ping output, or None when there are none."""
    loss = _LOSS.search(text)
    if not loss:
        return None
    rtt = _RTT.search(text)
    times = (float(rtt[1]), float(rtt[2]), float(rtt[3])) if rtt else None
    return PingResult(int(loss[1]), int(loss[2]), float(loss[3]), times)


@dataclass(frozen=True)
class PingOptions:
    """Configure the ping check: target, packet count, address family and loss thresholds."""

    host: str = field(metadata={"help": "host name or address"})
    count: int = field(default=5, metadata={"help": "echo requests to send"})
    ip_version: int | None = field(default=None, metadata={"help": "4 or 6 to force a family"})
    loss_warning: Range | None = field(default=Range.parse("20"), metadata={"help": "percent lost"})
    loss_critical: Range | None = field(default=Range.parse("60"), metadata={"help": "percent lost"})

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 100:
            raise OptionError("count", f"expected 1-100, got {self.count}")
        if self.ip_version not in (None, 4, 6):
            raise OptionError("ip_version", f"expected 4 or 6, got {self.ip_version}")
        if self.host.startswith("-"):
            raise OptionError("host", f"expected a host name or address, got {self.host!r}")


class PingCheck(BaseCheck[PingOptions]):
    """Ping a host and judge the average round trip and the packet loss."""

    Options = PingOptions
    default_warning = "100"
    default_critical = "500"
    threshold_help = "average round trip in milliseconds"

    def run(self, probe: Probe) -> CheckResult:
        o = self.options
        wait = max(1, int(probe.timeout - 0.2 * o.count) // 2)
        argv = ["ping", "-n", "-c", str(o.count), "-i", "0.2", "-W", str(wait)]
        if o.ip_version:
            argv.append(f"-{o.ip_version}")
        result = probe.run([*argv, o.host], timeout=probe.timeout, env={**probe.environ, "LC_ALL": "C"})
        if result.start_error:
            return unknown(f"ping cannot be run: {result.start_error}")
        stats = parse_ping(result.stdout)
        if stats is None:
            said = (result.stderr or result.stdout).strip().splitlines()
            why = said[-1] if said else f"exit {result.returncode}"
            if result.timed_out:
                why = f"ping timed out after {probe.timeout:g}s"
            return unknown(f"{o.host}: {why}")
        loss_thresholds = str(o.loss_warning or ""), str(o.loss_critical or "")
        metrics = [PerfDatum("pl", stats.loss, "%", *loss_thresholds, min=0, max=100)]
        if stats.rtt is None or stats.received == 0:
            return CheckResult(Status.CRITICAL, f"{o.host} unreachable: {stats.loss:g}% packet loss",
                               tuple([self.metric("rta", None, "ms"), *metrics]))
        findings = [
            Finding(self.classify(stats.rtt[1]), f"{o.host} rta {stats.rtt[1]:.3f} ms"),
            Finding(evaluate(stats.loss, o.loss_warning, o.loss_critical), f"{stats.loss:g}% packet loss"),
        ]
        metrics.insert(0, self.metric("rta", stats.rtt[1], "ms", min=0))
        result_ = conclude(findings, metrics)
        return CheckResult(result_.status, ", ".join(f.text for f in findings), result_.metrics)
