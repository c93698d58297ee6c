"""Clock offset from an NTP server (one SNTP query), or the system's own sync state.

```yaml
- name: clock
  type: clock
  interval: 600
  server: ntp.example.net  # SNTP query to this server; omit to ask timedatectl whether NTP is synced
  port: 123
  warning: 1               # absolute offset in seconds (defaults: 1 / 60)
  critical: 60
```

The offset is the server's clock minus ours, computed as RFC 4330 does from the four timestamps; the
thresholds compare its absolute value. No answer, a kiss-of-death or unsynchronised server (stratum 0
or leap indicator 3) is CRITICAL or UNKNOWN respectively. Without a server: ``timedatectl show``'s
NTPSynchronized=no is WARNING, and a host without timedatectl or systemd is UNKNOWN.
Metrics: ``offset`` (s, signed), ``delay`` (s).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from datetime import datetime

from fernwart.checks.base import BaseCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


class SntpError(Exception):
    """Raised for a reply that cannot be used to set a clock."""


def to_ntp(moment: datetime) -> bytes:
    """Return `moment` as a 64-bit NTP timestamp."""
    seconds = moment.timestamp() + NTP_EPOCH_OFFSET
    return struct.pack("!II", int(seconds), int((seconds % 1) * 2**32) & 0xFFFFFFFF)


def from_ntp(raw: bytes) -> float:
    """Return a 64-bit NTP timestamp as Unix seconds."""
    seconds, fraction = struct.unpack("!II", raw)
    return float(seconds - NTP_EPOCH_OFFSET + fraction / 2**32)


def request_packet(sent: datetime) -> bytes:
    """Return an SNTPv4 client request whose transmit timestamp is `sent`."""
    return bytes([(0 << 6) | (4 << 3) | 3]) + bytes(39) + to_ntp(sent)


def offset_and_delay(request: bytes, reply: bytes, sent: datetime, received: datetime) -> tuple[float, float]:
    """Return (offset, round-trip delay) in seconds from a server `reply` to `request`.

    Raise SntpError for a short reply, one that is not a server answer to this request, a
    kiss-of-death (stratum 0) or an unsynchronised server (leap indicator 3).
    """
    if len(reply) < 48:
        raise SntpError(f"reply of {len(reply)} bytes, expected at least 48")
    leap, mode, stratum = reply[0] >> 6, reply[0] & 0x7, reply[1]
    if mode not in (4, 5):
        raise SntpError(f"reply mode {mode} is not a server answer")
    if reply[24:32] != request[40:48]:
        raise SntpError("reply does not answer our request (originate timestamp differs)")
    if stratum == 0:
        raise SntpError(f"server sent kiss-of-death {reply[12:16].decode('ascii', 'replace')!r}")
    if leap == 3:
        raise SntpError("server clock is not synchronised (leap indicator 3)")
    t1, t4 = sent.timestamp(), received.timestamp()
    t2, t3 = from_ntp(reply[32:40]), from_ntp(reply[40:48])
    return ((t2 - t1) + (t3 - t4)) / 2, (t4 - t1) - (t3 - t2)


@dataclass(frozen=True)
class ClockOptions:
    """Configure the clock check: the NTP server to ask, or none for the system's sync state."""

    server: str | None = field(default=None, metadata={"help": "NTP server; none: ask timedatectl"})
    port: int = field(default=123, metadata={"help": "NTP UDP port"})

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise OptionError("port", f"expected a port number 1-65535, got {self.port}")


class ClockCheck(BaseCheck[ClockOptions]):
    """Measure the clock offset against an NTP server, or report the system's NTP sync state."""

    Options = ClockOptions
    default_warning = "1"
    default_critical = "60"
    threshold_help = "absolute clock offset in seconds (SNTP mode)"

    def run(self, probe: Probe) -> CheckResult:
        if self.options.server is None:
            return self._system(probe)
        server, port = self.options.server, self.options.port
        try:
            address = probe.resolve(server, port, type=socket.SOCK_DGRAM)[0][4][0]
        except (OSError, IndexError) as exc:
            return unknown(f"cannot resolve {server}: {exc}")
        sent = probe.now()
        request = request_packet(sent)
        try:
            reply = probe.udp_exchange(address, port, request, probe.timeout)
        except TimeoutError:
            return CheckResult(Status.CRITICAL, f"no answer from {server} within {probe.timeout:g}s")
        except OSError as exc:
            return CheckResult(Status.CRITICAL, f"{server}: {exc.strerror or exc}")
        received = probe.now()
        try:
            offset, delay = offset_and_delay(request, reply, sent, received)
        except SntpError as exc:
            return unknown(f"{server}: {exc}")
        return CheckResult(
            self.classify(abs(offset)), f"offset {offset:+.4f}s from {server} (stratum {reply[1]})",
            (self.metric("offset", round(offset, 6), "s"),
             self.metric("delay", round(delay, 6), "s", thresholds=False, min=0)),
        )

    def _system(self, probe: Probe) -> CheckResult:
        argv = ["timedatectl", "show", "--property=NTPSynchronized", "--property=NTP"]
        result = probe.run(argv, timeout=probe.timeout, env={**probe.environ, "LC_ALL": "C"})
        if result.start_error:
            return unknown("timedatectl is not available; set server: to query an NTP server instead")
        said = (result.stderr or result.stdout).strip()
        if result.returncode != 0 or result.timed_out:
            first = said.splitlines()[0] if said else f"exit {result.returncode}"
            return unknown(f"timedatectl cannot tell the sync state ({first}); set server: to query NTP")
        props = dict(line.partition("=")[::2] for line in result.stdout.splitlines() if "=" in line)
        if props.get("NTPSynchronized") == "yes":
            return CheckResult(Status.OK, "system clock is synchronised (NTP)")
        service = "NTP service active" if props.get("NTP") == "yes" else "no NTP service active"
        return CheckResult(Status.WARNING, f"system clock is not synchronised ({service})")
