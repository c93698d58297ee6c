"""A name resolves through the system resolver, within a time limit, optionally to expected addresses.

```yaml
- name: dns-www
  type: dns
  interval: 300
  timeout: 10
  query: www.example.net    # the name to resolve (`name` is the check's own name)
  expected_addresses: [192.0.2.10, 2001:db8::10]   # optional: every one must be among the answers
  family: any              # any, ipv4 or ipv6
  warning: 0.5             # seconds to resolve (defaults: 1 / 5)
  critical: 5
```

Resolution goes through the system resolver (getaddrinfo: /etc/hosts, nsswitch, the configured
servers). A name that does not resolve, a missing expected address, or no answer within the check's
timeout is CRITICAL. Metrics: ``time`` (s), ``addresses``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status

FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


@dataclass(frozen=True)
class DnsOptions:
    """Configure the dns check: the name, expected answers and address family."""

    query: str = field(metadata={"help": "name to resolve"})
    expected_addresses: list[str] = field(default_factory=list, metadata={"help": "addresses required"})
    family: str = field(default="any", metadata={"help": "any, ipv4 or ipv6"})

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise OptionError("family", f"expected any, ipv4 or ipv6, got {self.family!r}")
        for i, text in enumerate(self.expected_addresses):
            try:
                ipaddress.ip_address(text)
            except ValueError:
                key = f"expected_addresses[{i}]"
                raise OptionError(key, f"expected an IP address, got {text!r}") from None


class DnsCheck(BaseCheck[DnsOptions]):
    """Resolve a name within the timeout and compare the answers with the expected addresses."""

    Options = DnsOptions
    default_warning = "1"
    default_critical = "5"
    threshold_help = "seconds to resolve"

    def run(self, probe: Probe) -> CheckResult:
        o = self.options
        outcome: dict[str, Any] = {}

        def resolve() -> None:
            try:
                outcome["answers"] = probe.resolve(o.query, None, FAMILIES[o.family], socket.SOCK_STREAM)
            except Exception as exc:  # any failure is handed to the checking thread and reported there
                outcome["error"] = exc

        started = probe.monotonic()
        # getaddrinfo cannot be interrupted: it runs in a daemon thread that is abandoned at the timeout.
        worker = threading.Thread(target=resolve, name=f"dns-{o.query}", daemon=True)
        worker.start()
        worker.join(probe.timeout)
        elapsed = probe.monotonic() - started
        if worker.is_alive():
            return CheckResult(Status.CRITICAL, f"{o.query} did not resolve within {probe.timeout:g}s")
        error = outcome.get("error")
        if isinstance(error, socket.gaierror):
            return CheckResult(Status.CRITICAL, f"{o.query} does not resolve: {error.strerror or error}")
        if error is not None:
            return CheckResult(Status.CRITICAL, f"{o.query}: {error}")
        addresses = sorted({str(ipaddress.ip_address(a[4][0].split("%")[0])) for a in outcome["answers"]})
        findings = [Finding(self.classify(elapsed), f"{o.query} resolves to {', '.join(addresses)} in "
                                                    f"{elapsed * 1000:.0f} ms")]
        wanted = {str(ipaddress.ip_address(a)) for a in o.expected_addresses}
        missing = sorted(wanted - set(addresses))
        if missing:
            findings.append(Finding(Status.CRITICAL, f"expected {', '.join(missing)} not among the answers"))
        metrics = [self.metric("time", round(elapsed, 6), "s", min=0),
                   self.metric("addresses", len(addresses), thresholds=False, min=0)]
        return conclude(findings, metrics)
