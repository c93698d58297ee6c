"""Time to open a TCP connection to host:port.

```yaml
- name: ssh-port
  type: tcp
  interval: 60
  timeout: 10
  host: db.example.net
  port: 5432
  warning: 0.5         # seconds to connect (defaults: 1 / 5)
  critical: 5
```

A refused, unreachable or timed-out connection is CRITICAL, a name that does not resolve is UNKNOWN,
as check_tcp reports them. Metric: ``time`` (s).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status


@dataclass(frozen=True)
class TcpOptions:
    """Configure the tcp check: where to connect."""

    host: str = field(metadata={"help": "host name or address"})
    port: int = field(metadata={"help": "TCP port, 1-65535"})

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise OptionError("port", f"expected a port number 1-65535, got {self.port}")


class TcpCheck(BaseCheck[TcpOptions]):
    """Measure the time to connect to a TCP port."""

    Options = TcpOptions
    default_warning = "1"
    default_critical = "5"
    threshold_help = "seconds to connect"

    def run(self, probe: Probe) -> CheckResult:
        target = f"{self.options.host}:{self.options.port}"
        started = probe.monotonic()
        try:
            conn = probe.connect((self.options.host, self.options.port), timeout=probe.timeout)
        except socket.gaierror as exc:
            return unknown(f"cannot resolve {self.options.host}: {exc.strerror or exc}")
        except TimeoutError:
            return CheckResult(Status.CRITICAL, f"{target}: no connection within {probe.timeout:g}s")
        except OSError as exc:
            return CheckResult(Status.CRITICAL, f"{target}: {exc.strerror or exc}")
        elapsed = probe.monotonic() - started
        conn.close()
        return CheckResult(
            self.classify(elapsed), f"{target} connected in {elapsed * 1000:.1f} ms",
            (self.metric("time", round(elapsed, 6), "s", min=0),),
        )
