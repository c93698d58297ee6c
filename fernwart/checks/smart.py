"""Disk health from smartctl's JSON output (smartmontools 7+), when smartctl is installed.

```yaml
- name: smart
  type: smart
  interval: 3600
  timeout: 60
  devices: []           # e.g. [/dev/sda, /dev/nvme0]; default: whatever `smartctl --scan` finds
  warning: 55           # drive temperature in °C (defaults: 55 / 65)
  critical: 65
```

Per device: a failed overall self-assessment, an NVMe critical warning, or failing prefail attributes
are CRITICAL; reallocated, pending or offline-uncorrectable sectors, NVMe media errors, spare below
threshold or wear at 90%+ are WARNING. smartctl missing is UNKNOWN ("install smartmontools"); a device
smartctl cannot open (no root, a virtual disk) is UNKNOWN for that device. No devices found is OK.
Metrics per device: ``<dev> temperature``, plus ``<dev> reallocated``/``pending`` or ``<dev> wear`` (%).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status

_OPEN_FAILED = 0x02  # smartctl exit status bits
_DISK_FAILING = 0x08
_PREFAIL_BELOW = 0x10
_ATA_COUNTERS = {5: "reallocated", 197: "pending", 198: "offline_uncorrectable"}


@dataclass(frozen=True)
class SmartOptions:
    """Configure the smart check: which devices."""

    devices: list[str] = field(default_factory=list, metadata={"help": "devices; default: smartctl --scan"})


class SmartCheck(BaseCheck[SmartOptions]):
    """Read each disk's SMART health through smartctl's JSON output."""

    Options = SmartOptions
    default_warning = "55"
    default_critical = "65"
    threshold_help = "drive temperature in degrees Celsius"

    def run(self, probe: Probe) -> CheckResult:
        smartctl = probe.which("smartctl") or probe.which("/usr/sbin/smartctl")
        if not smartctl:
            return unknown("smartctl is not installed (install smartmontools)")
        devices = list(self.options.devices)
        if not devices:
            scan = self._json(probe, [smartctl, "--scan", "-j"])
            if isinstance(scan, str):
                return unknown(f"smartctl --scan: {scan}")
            devices = [d["name"] for d in scan.get("devices", []) if "name" in d]
        findings: list[Finding] = []
        metrics: list[PerfDatum] = []
        for device in devices:
            report = self._json(probe, [smartctl, "-j", "-H", "-A", "-i", device])
            if isinstance(report, str):
                findings.append(Finding(Status.UNKNOWN, f"{device}: {report}"))
                continue
            findings.append(self.judge(device, report, metrics))
        return conclude(findings, metrics, empty="no SMART devices found")

    def _json(self, probe: Probe, argv: list[str]) -> dict[str, Any] | str:
        """Return smartctl's JSON document, or a text saying why there is none."""
        result = probe.run(argv, timeout=probe.timeout)
        if result.start_error or result.timed_out:
            return result.start_error or f"timed out after {probe.timeout:g}s"
        try:
            document = json.loads(result.stdout)
        except ValueError:
            return f"no JSON output (exit {result.returncode}); smartctl 7 or newer is needed"
        if not isinstance(document, dict):
            return "unexpected JSON output"
        if result.returncode & _OPEN_FAILED:
            messages = document.get("smartctl", {}).get("messages", [])
            text = messages[0].get("string", "") if messages else ""
            return f"cannot open the device{': ' + text if text else ''}"
        document["_exit_status"] = result.returncode
        return document

    def judge(self, device: str, report: dict[str, Any], metrics: list[PerfDatum]) -> Finding:
        """Return the finding for one device's smartctl report, adding its metrics."""
        model = report.get("model_name") or report.get("model_family") or ""
        name = f"{device}" + (f" ({model})" if model else "")
        problems: list[tuple[Status, str]] = []
        passed = report.get("smart_status", {}).get("passed")
        exit_status = int(report.get("_exit_status", 0))
        if passed is False or exit_status & _DISK_FAILING:
            problems.append((Status.CRITICAL, "SMART self-assessment FAILED"))
        if exit_status & _PREFAIL_BELOW:
            problems.append((Status.CRITICAL, "prefail attributes at or below threshold"))
        temperature = report.get("temperature", {}).get("current")
        if isinstance(temperature, (int, float)):
            metrics.append(self.metric(f"{device} temperature", temperature))
            status = self.classify(temperature)
            if status is not Status.OK:
                problems.append((status, f"temperature {temperature}°C"))
        for attr in report.get("ata_smart_attributes", {}).get("table", []):
            label = _ATA_COUNTERS.get(attr.get("id"))
            raw = attr.get("raw", {}).get("value")
            if label and isinstance(raw, int):
                metrics.append(PerfDatum(f"{device} {label}", raw, warn="0", min=0))
                if raw > 0:
                    problems.append((Status.WARNING, f"{raw} {label.replace('_', ' ')} sectors"))
        nvme = report.get("nvme_smart_health_information_log")
        if isinstance(nvme, dict):
            problems += _nvme(device, nvme, metrics)
        if not problems:
            return Finding(Status.OK, f"{name} healthy")
        worst = max(s for s, _ in problems)  # statuses here are OK/WARNING/CRITICAL only
        return Finding(worst, f"{name}: " + ", ".join(text for _, text in problems))


def _nvme(device: str, log: dict[str, Any], metrics: list[PerfDatum]) -> list[tuple[Status, str]]:
    problems: list[tuple[Status, str]] = []
    if log.get("critical_warning"):
        problems.append((Status.CRITICAL, f"NVMe critical warning {log['critical_warning']:#x}"))
    used = log.get("percentage_used")
    if isinstance(used, int):
        metrics.append(PerfDatum(f"{device} wear", used, "%", warn="90", min=0))
        if used >= 90:
            problems.append((Status.WARNING, f"{used}% of rated endurance used"))
    spare, spare_threshold = log.get("available_spare"), log.get("available_spare_threshold")
    if isinstance(spare, int) and isinstance(spare_threshold, int) and spare <= spare_threshold:
        problems.append((Status.WARNING, f"spare {spare}% at or below {spare_threshold}%"))
    if log.get("media_errors"):
        problems.append((Status.WARNING, f"{log['media_errors']} media errors"))
    return problems
