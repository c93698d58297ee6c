"""A systemd unit is active (or at least not failed) and enabled, read through ``systemctl show``.

```yaml
- name: nginx-service
  type: service
  interval: 60
  unit: nginx.service
  enabled: true          # also require it to start at boot (false: require it not to; default: ignore)
  allow_inactive: false  # true for oneshot units run by timers: only "failed" is CRITICAL then
```

Not found, failed or (unless allowed) inactive is CRITICAL; activating, deactivating or reloading is
WARNING; a wrong enablement is WARNING. Without systemd (no systemctl, or a host booted with another init)
the result is UNKNOWN saying so. Metric: none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status

PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState", "Result")
ENABLED_STATES = frozenset(
    {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "linked"},
)
_NO_SYSTEMD = ("not been booted with systemd", "Failed to connect to bus", "Host is down", "System has not")


@dataclass(frozen=True)
class ServiceOptions:
    """Configure the service check: the unit and what counts as healthy."""

    unit: str = field(metadata={"help": "systemd unit name, e.g. nginx.service"})
    enabled: bool | None = field(default=None, metadata={"help": "require enabled (true) or not (false)"})
    allow_inactive: bool = field(default=False, metadata={"help": "inactive is OK, only failed is not"})

    def __post_init__(self) -> None:
        if not self.unit.strip() or self.unit.startswith("-"):
            raise OptionError("unit", f"expected a systemd unit name, got {self.unit!r}")


def parse_show(text: str) -> dict[str, str]:
    """Return the Key=Value lines of ``systemctl show`` as a dict."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


class ServiceCheck(BaseCheck[ServiceOptions]):
    """Report whether a systemd unit is active, failed or enabled."""

    Options = ServiceOptions
    accepts_thresholds = False
    threshold_help = "none: failed/inactive is CRITICAL"

    def run(self, probe: Probe) -> CheckResult:
        unit = self.options.unit
        argv = ["systemctl", "show", unit, "--no-pager", f"--property={','.join(PROPERTIES)}"]
        result = probe.run(argv, timeout=probe.timeout, env={**probe.environ, "LC_ALL": "C"})
        if result.start_error:
            return unknown(f"systemd is not available here: systemctl not found ({result.start_error})")
        if result.timed_out:
            return unknown(f"systemctl timed out after {probe.timeout:g}s")
        said = (result.stderr or result.stdout).strip()
        if result.returncode != 0:
            if any(marker in said for marker in _NO_SYSTEMD):
                return unknown(f"systemd is not running on this host: {said.splitlines()[0]}")
            return unknown(f"systemctl show {unit} failed (exit {result.returncode}): {said[:200]}")
        props = parse_show(result.stdout)
        return self.judge(props)

    def judge(self, props: dict[str, str]) -> CheckResult:
        """Return the result for the unit properties `props` (from `parse_show`)."""
        unit, o = self.options.unit, self.options
        if props.get("LoadState") in ("not-found", "masked") and props.get("ActiveState") != "active":
            return CheckResult(Status.CRITICAL, f"{unit} is {props['LoadState']}")
        active, sub = props.get("ActiveState", "unknown"), props.get("SubState", "")
        state = f"{active} ({sub})" if sub else active
        if active == "active":
            status = Status.OK
        elif active == "failed":
            status = Status.CRITICAL
            if props.get("Result") not in (None, "", "success"):
                state += f", result {props['Result']}"
        elif active == "inactive":
            status = Status.OK if o.allow_inactive else Status.CRITICAL
        elif active in ("activating", "deactivating", "reloading", "refreshing"):
            status = Status.WARNING
        else:
            status = Status.UNKNOWN
        findings = [Finding(status, f"{unit} {state}")]
        file_state = props.get("UnitFileState", "")
        if o.enabled is not None and file_state:
            if o.enabled and file_state not in ENABLED_STATES:
                findings.append(Finding(Status.WARNING, f"{unit} is {file_state}, not enabled"))
            elif not o.enabled and file_state in ("enabled", "enabled-runtime"):
                findings.append(Finding(Status.WARNING, f"{unit} is enabled, expected it not to be"))
        return conclude(findings)
