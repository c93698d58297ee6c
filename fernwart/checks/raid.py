"""Linux software RAID (md) arrays from /proc/mdstat: degraded, failed, rebuilding.

```yaml
- name: raid
  type: raid
  interval: 300
  arrays: [md0, md1]   # these must exist (default: check whatever exists; none is OK)
  mdstat: /proc/mdstat # where to read (tests and containers)
```

A degraded array (a ``_`` in ``[UU_]``), a failed member ``(F)`` or an inactive array is CRITICAL; a
resync, recovery or reshape in progress is WARNING (a check/scrub is OK); a missing ``/proc/mdstat``
means no md driver, so no arrays. Metrics per array: ``<md> devices`` and ``<md> active``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status

_ARRAY = re.compile(r"^(md\w+)\s*:\s*(\w+)(?:\s+\(.*?\))?\s*(\S*)\s*(.*)$")
_COUNTS = re.compile(r"\[(\d+)/(\d+)\]\s*\[([U_]+)\]")
_PROGRESS = re.compile(r"\b(resync|recovery|reshape|check|repair)\s*=\s*([\d.]+)%")


@dataclass(frozen=True)
class MdArray:
    """One md array as /proc/mdstat shows it."""

    name: str
    state: str
    level: str
    failed_members: int
    devices: int | None = None
    active: int | None = None
    map: str = ""
    activity: str = ""
    progress: float | None = None


def parse_mdstat(text: str) -> list[MdArray]:
    """Return the arrays described in /proc/mdstat text; unknown lines are ignored."""
    arrays: list[MdArray] = []
    current: dict[str, object] | None = None
    for line in text.splitlines():
        match = _ARRAY.match(line)
        if match:
            if current:
                arrays.append(MdArray(**current))  # type: ignore[arg-type]
            name, state, level, members = match.groups()
            if not level.startswith(("raid", "linear", "multipath")):
                members, level = f"{level} {members}", ""
            current = {"name": name, "state": state, "level": level, "failed_members": members.count("(F)")}
            continue
        if current is None:
            continue
        counts = _COUNTS.search(line)
        if counts:
            current.update(devices=int(counts[1]), active=int(counts[2]), map=counts[3])
        progress = _PROGRESS.search(line)
        if progress:
            current.update(activity=progress[1], progress=float(progress[2]))
        elif re.search(r"\b(resync|recovery|reshape)\s*=\s*(DELAYED|PENDING)", line):
            current.update(activity=re.findall(r"(resync|recovery|reshape)", line)[0])
    if current:
        arrays.append(MdArray(**current))  # type: ignore[arg-type]
    return arrays


@dataclass(frozen=True)
class RaidOptions:
    """Configure the raid check: arrays that must exist, and where mdstat is."""

    arrays: list[str] = field(default_factory=list, metadata={"help": "md arrays that must exist"})
    mdstat: str = field(default="/proc/mdstat", metadata={"help": "path of mdstat"})


class RaidCheck(BaseCheck[RaidOptions]):
    """Report degraded, failed and rebuilding Linux md arrays."""

    Options = RaidOptions
    accepts_thresholds = False
    threshold_help = "none: degraded/failed is CRITICAL, rebuilding WARNING"

    def run(self, probe: Probe) -> CheckResult:
        try:
            arrays = parse_mdstat(probe.read_text(Path(self.options.mdstat)))
        except FileNotFoundError:
            arrays = []
        except OSError as exc:
            return unknown(f"cannot read {self.options.mdstat}: {exc.strerror or exc}")
        findings = [self._judge(a) for a in arrays]
        names = {a.name for a in arrays}
        findings += [Finding(Status.CRITICAL, f"{n} missing") for n in self.options.arrays if n not in names]
        metrics: list[PerfDatum] = []
        for a in arrays:
            if a.devices is not None:
                metrics.append(PerfDatum(f"{a.name} devices", a.devices, min=0))
                metrics.append(
                    PerfDatum(f"{a.name} active", a.active, crit=f"{a.devices}:", min=0, max=a.devices),
                )
        return conclude(findings, metrics, empty="no md arrays")

    @staticmethod
    def _judge(a: MdArray) -> Finding:
        what = f"{a.name} ({a.level})" if a.level else a.name
        if a.state != "active":
            return Finding(Status.CRITICAL, f"{what} is {a.state}")
        if a.failed_members or "_" in a.map:
            failed = f", {a.failed_members} failed" if a.failed_members else ""
            # still CRITICAL while a spare rebuilds: until it is done there is no redundancy
            return Finding(Status.CRITICAL, f"{what} degraded [{a.map}]{failed}{_activity(a)}")
        if a.activity in ("resync", "recovery", "reshape"):
            return Finding(Status.WARNING, f"{what}{_activity(a)}")
        return Finding(Status.OK, f"{what} [{a.map}] ok{_activity(a)}")


def _activity(a: MdArray) -> str:
    if not a.activity:
        return ""
    done = f" {a.progress:.1f}%" if a.progress is not None else " pending"
    return f", {a.activity}{done}"
