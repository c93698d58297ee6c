"""Space and inodes used per mounted filesystem, pseudo filesystems skipped.

```yaml
- name: disk
  type: disk
  interval: 300
  warning: 80              # percent of space used, each mount (defaults: 80 / 90)
  critical: 90
  inode_warning: 80        # percent of inodes used; default: the space thresholds
  inode_critical: 90
  mounts: []               # only these mount points (default: all real filesystems)
  exclude_mounts: [/boot/efi]
  fs_types: []             # only these types; naming a pseudo type (tmpfs) includes it
  exclude_fs_types: [nfs4]
```

Space is used / (used + available to ordinary users), as ``df`` shows it. Skipped unless asked for by
``mounts`` or ``fs_types``: pseudo and RAM filesystems (proc, sysfs, tmpfs, devtmpfs, read-only
squashfs images, ...), filesystems of zero size, and bind mounts of a device already seen. A filesystem
without inode accounting (btrfs reports 0 inodes) gets no inode metric. A mount named in ``mounts`` that
is not mounted is CRITICAL. Metrics per mount: ``<mount>`` (% space used), ``<mount> inodes`` (%).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import Probe
from fernwart.checks.ranges import Range, evaluate
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from fernwart.checks.units import format_bytes

PSEUDO_FS_TYPES = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devfs", "devpts", "devtmpfs",
    "efivarfs", "fusectl", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "hugetlbfs", "mqueue", "nsfs",
    "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs",
    "tracefs", "nfsd", "iso9660",
})


@dataclass(frozen=True)
class DiskOptions:
    """Configure the disk check: which mounts, and inode thresholds."""

    mounts: list[str] = field(default_factory=list, metadata={"help": "only these mount points"})
    exclude_mounts: list[str] = field(default_factory=list, metadata={"help": "skip these mount points"})
    fs_types: list[str] = field(default_factory=list, metadata={"help": "only these filesystem types"})
    exclude_fs_types: list[str] = field(default_factory=list, metadata={"help": "skip these fs types"})
    inode_warning: Range | None = field(default=None, metadata={"help": "inodes used %; default: warning"})
    inode_critical: Range | None = field(default=None, metadata={"help": "inodes used %; default: critical"})


@dataclass(frozen=True)
class MountUsage:
    """Space and inode figures of one mounted filesystem."""

    mount: str
    fstype: str
    size: float
    used: float
    available: float
    inodes: int
    inodes_free: int

    @property
    def percent(self) -> float:
        """Return space used in percent of what ordinary users can have (0 for an empty fs)."""
        usable = self.used + self.available
        return 100.0 * self.used / usable if usable > 0 else 0.0

    @property
    def inode_percent(self) -> float | None:
        """Return inodes used in percent, or None where the filesystem does not count inodes."""
        if self.inodes <= 0:
            return None
        return 100.0 * (self.inodes - self.inodes_free) / self.inodes


class DiskCheck(BaseCheck[DiskOptions]):
    """Measure space and inodes used on each real mounted filesystem."""

    Options = DiskOptions
    default_warning = "80"
    default_critical = "90"
    threshold_help = "percent of space used on each mount"

    def selected(self, partitions: list[object]) -> list[tuple[str, str, str]]:
        """Return (device, mount, fstype) of the partitions to check, first mount of a device wins."""
        o = self.options
        chosen: list[tuple[str, str, str]] = []
        devices: set[str] = set()
        for part in partitions:
            device, mount, fstype = (str(getattr(part, a)) for a in ("device", "mountpoint", "fstype"))
            if mount in o.exclude_mounts or fstype in o.exclude_fs_types:
                continue
            if o.mounts and mount not in o.mounts:
                continue
            if o.fs_types and fstype not in o.fs_types:
                continue
            asked = mount in o.mounts or fstype in o.fs_types
            if not asked and fstype in PSEUDO_FS_TYPES:
                continue
            if any(m == mount for _, m, _ in chosen):
                continue
            if not asked and device.startswith("/") and device in devices:
                continue  # a bind mount of a device already checked
            devices.add(device)
            chosen.append((device, mount, fstype))
        return chosen

    def run(self, probe: Probe) -> CheckResult:
        partitions = list(probe.psutil.disk_partitions(all=True))
        findings: list[Finding] = []
        metrics: list[PerfDatum] = []
        chosen = self.selected(partitions)
        seen = {m for _, m, _ in chosen}
        for missing in (m for m in self.options.mounts if m not in seen):
            findings.append(Finding(Status.CRITICAL, f"{missing} is not mounted"))
        for _, mount, fstype in chosen:
            try:
                st = probe.statvfs(mount)
            except OSError as exc:
                findings.append(Finding(Status.UNKNOWN, f"{mount}: {exc.strerror or exc}"))
                continue
            usage = MountUsage(
                mount, fstype, size=float(st.f_blocks * st.f_frsize),
                used=float((st.f_blocks - st.f_bfree) * st.f_frsize),
                available=float(st.f_bavail * st.f_frsize),
                inodes=int(st.f_files), inodes_free=int(st.f_ffree),
            )
            if usage.size <= 0 and mount not in self.options.mounts:
                continue
            findings.append(self._judge(usage, metrics))
        return conclude(findings, metrics, empty="no filesystems matched")

    def _judge(self, usage: MountUsage, metrics: list[PerfDatum]) -> Finding:
        status = self.classify(usage.percent)
        text = f"{usage.mount} {usage.percent:.1f}% used ({format_bytes(usage.available)} free)"
        metrics.append(self.metric(usage.mount, round(usage.percent, 2), "%", min=0, max=100))
        inode_percent = usage.inode_percent
        if inode_percent is not None:
            warn = self.options.inode_warning or self.warning
            crit = self.options.inode_critical or self.critical
            inode_status = evaluate(inode_percent, warn, crit)
            metrics.append(PerfDatum(
                f"{usage.mount} inodes", round(inode_percent, 2), "%",
                warn=str(warn or ""), crit=str(crit or ""), min=0, max=100,
            ))
            if inode_status is not Status.OK:
                text += f", inodes {inode_percent:.1f}% used"
                status = max(status, inode_status)  # no UNKNOWN here, so numeric order is severity
        return Finding(status, text)
