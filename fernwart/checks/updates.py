"""Pending package updates, how many are security updates, and whether a reboot is required.

```yaml
- name: updates
  type: updates
  interval: 21600
  timeout: 120
  manager: auto            # auto, apt, dnf or zypper
  warning: 50              # pending updates (default: none)
  critical: null
  security_warning: 0      # pending security updates (defaults: WARNING from the first)
  security_critical: null
  reboot_status: warning   # status when a reboot is required: ok, warning, critical
```

apt: ``apt-get -s upgrade`` (simulated, no lock, package lists as last refreshed: refreshing them is a
maintenance task, not a check); an update counts as security when it comes from a ``*-security``
suite. Reboot required: ``/var/run/reboot-required``. dnf: ``dnf check-update`` and ``dnf updateinfo
list --security``; reboot via ``needs-restarting -r`` when present. zypper: ``zypper list-updates`` and
``list-patches --category security``. No known package manager is UNKNOWN.
Metrics: ``updates``, ``security_updates``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.options import OptionError
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import CommandResult, Probe
from fernwart.checks.ranges import Range, evaluate
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status

MANAGERS = ("apt", "dnf", "zypper")
_APT_SECURITY = re.compile(r"(?:Debian-Security:|[-/]security[\s,/\]]|-security$)", re.IGNORECASE)


class UpdatesError(Exception):
    """Raised when the package manager could not tell what is pending."""


@dataclass(frozen=True)
class Pending:
    """What the package manager reports as pending."""

    total: int
    security: int
    reboot_required: bool
    names: tuple[str, ...] = ()


def parse_apt(text: str) -> tuple[int, int, tuple[str, ...]]:
    """Return (total, security, names) from ``apt-get -s upgrade`` output (its ``Inst`` lines)."""
    total = security = 0
    names: list[str] = []
    for line in text.splitlines():
        if not line.startswith("Inst "):
            continue
        total += 1
        names.append(line.split()[1])
        origin = line[line.find("(") :] if "(" in line else ""
        if _APT_SECURITY.search(origin):
            security += 1
    return total, security, tuple(names)


def parse_dnf_check_update(text: str) -> tuple[str, ...]:
    """Return the package names of ``dnf -q check-update`` output (skipping obsoletes and notices)."""
    names = []
    for line in text.splitlines():
        if line.startswith("Obsoleting"):
            break  # the obsoletes section repeats packages already listed
        if not line or line[0].isspace():
            continue  # blank lines and continuation lines of long names
        parts = line.split()
        if (len(parts) >= 3 or len(parts) == 1) and "." in parts[0]:
            names.append(parts[0])  # one part: a long name whose version wrapped onto the next line
    return tuple(names)


def parse_dnf_security(text: str) -> int:
    """Return the number of distinct packages in ``dnf -q updateinfo list --security`` output."""
    packages = {line.split()[-1] for line in text.splitlines() if len(line.split()) >= 3}
    return len(packages)


def parse_zypper_table(text: str) -> list[list[str]]:
    """Return the data rows of a zypper table (``|``-separated, after the ``---+---`` rule)."""
    rows, seen_rule = [], False
    for line in text.splitlines():
        if re.match(r"^-+\+", line):
            seen_rule = True
            continue
        if seen_rule and "|" in line:
            rows.append([cell.strip() for cell in line.split("|")])
    return rows


@dataclass(frozen=True)
class UpdatesOptions:
    """Configure the updates check: package manager, security thresholds, reboot status."""

    manager: str = field(default="auto", metadata={"help": "auto, apt, dnf or zypper"})
    security_warning: Range | None = field(default=Range.parse("0"), metadata={"help": "security updates"})
    security_critical: Range | None = field(default=None, metadata={"help": "security updates"})
    reboot_status: str = field(default="warning", metadata={"help": "status when a reboot is required"})

    def __post_init__(self) -> None:
        if self.manager not in ("auto", *MANAGERS):
            raise OptionError("manager", f"expected auto, apt, dnf or zypper, got {self.manager!r}")
        try:
            Status.parse(self.reboot_status)
        except ValueError as exc:
            raise OptionError("reboot_status", str(exc)) from None


class UpdatesCheck(BaseCheck[UpdatesOptions]):
    """Count pending package updates and security updates; report a required reboot."""

    Options = UpdatesOptions
    threshold_help = "number of pending updates (security ones have their own thresholds)"

    def run(self, probe: Probe) -> CheckResult:
        manager = self.options.manager
        if manager == "auto":
            manager = next((m for m in MANAGERS if probe.which(_BINARY[m])), "")
            if not manager:
                return unknown("no supported package manager found (apt-get, dnf, zypper)")
        try:
            pending = _QUERIES[manager](probe)
        except UpdatesError as exc:
            return unknown(str(exc))
        o = self.options
        findings = [
            Finding(self.classify(pending.total), f"{pending.total} updates pending"),
            Finding(evaluate(pending.security, o.security_warning, o.security_critical),
                    f"{pending.security} security updates"),
        ]
        if pending.reboot_required:
            findings.append(Finding(Status.parse(o.reboot_status), "reboot required"))
        metrics = [
            self.metric("updates", pending.total, min=0),
            PerfDatum("security_updates", pending.security, "", str(o.security_warning or ""),
                      str(o.security_critical or ""), min=0),
        ]
        result = conclude(findings, metrics)
        names = ", ".join(pending.names[:50]) + (" ..." if len(pending.names) > 50 else "")
        summary = "; ".join(f.text for f in findings) if result.status is Status.OK else result.summary
        return CheckResult(result.status, f"{manager}: {summary}", result.metrics, names)


def _checked(probe: Probe, argv: list[str], ok_codes: tuple[int, ...] = (0,)) -> CommandResult:
    env = {**probe.environ, "LC_ALL": "C"}
    result = probe.run(argv, timeout=probe.timeout, env=env)
    if result.start_error:
        raise UpdatesError(f"{argv[0]} cannot be run: {result.start_error}")
    if result.timed_out:
        raise UpdatesError(f"{' '.join(argv[:2])} timed out after {probe.timeout:g}s")
    if result.returncode not in ok_codes:
        said = (result.stderr or result.stdout).strip().splitlines()
        last = said[-1] if said else ""
        raise UpdatesError(f"{' '.join(argv[:2])} failed (exit {result.returncode}): {last}")
    return result


def _file_exists(probe: Probe, path: str) -> bool:
    try:
        probe.read_text(Path(path))
    except FileNotFoundError:
        return False
    except OSError:
        return True  # there, just not readable
    return True


def _apt(probe: Probe) -> Pending:
    out = _checked(probe, ["apt-get", "-s", "-o", "Debug::NoLocking=true", "upgrade"]).stdout
    total, security, names = parse_apt(out)
    return Pending(total, security, _file_exists(probe, "/var/run/reboot-required"), names)


def _dnf(probe: Probe) -> Pending:
    names = parse_dnf_check_update(_checked(probe, ["dnf", "-q", "check-update"], (0, 100)).stdout)
    security = parse_dnf_security(_checked(probe, ["dnf", "-q", "updateinfo", "list", "--security"]).stdout)
    reboot = False
    if probe.which("needs-restarting"):
        reboot = probe.run(["needs-restarting", "-r"], timeout=probe.timeout).returncode == 1
    return Pending(len(names), security, reboot, names)


def _zypper(probe: Probe) -> Pending:
    base = ["zypper", "--non-interactive", "--no-refresh"]
    updates = parse_zypper_table(_checked(probe, [*base, "list-updates"]).stdout)
    patches = parse_zypper_table(_checked(probe, [*base, "list-patches", "--category", "security"]).stdout)
    security = sum(1 for row in patches if any("needed" in cell for cell in row))
    reboot = probe.run(["zypper", "needs-rebooting"], timeout=probe.timeout).returncode == 102
    names = tuple(row[2] for row in updates if len(row) > 2)
    return Pending(len(updates), security, reboot, names)


_BINARY = {"apt": "apt-get", "dnf": "dnf", "zypper": "zypper"}
_QUERIES = {"apt": _apt, "dnf": _dnf, "zypper": _zypper}
