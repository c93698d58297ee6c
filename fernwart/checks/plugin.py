"""Run any Monitoring Plugins executable and read its exit code and output exactly as Nagios does.

```yaml
- name: ntp
  type: plugin
  interval: 300
  timeout: 10
  command: [check_ntp_time, -H, pool.ntp.org, -w, "0.5", -c, "1"]
  env: {LC_ALL: C}          # optional; merged over the agent's environment
```

`command` is an argv list, never a shell string. A bare program name is looked up in PATH and then in
the usual plugin directories (/usr/lib/nagios/plugins, /usr/lib/monitoring-plugins, /usr/lib64/...).
Exit codes 0-3 are OK/WARNING/CRITICAL/UNKNOWN; any other code, a signal, a timeout or a program that
cannot be started is UNKNOWN with a summary that says which. Malformed perfdata is reported in the long
output while the well-formed items are kept. Thresholds belong in the command's own arguments.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field

from fernwart.checks import plugin_output
from fernwart.checks.base import BaseCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import CommandResult, Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status

PLUGIN_DIRS = (
    "/usr/lib/nagios/plugins", "/usr/lib/monitoring-plugins", "/usr/lib64/nagios/plugins",
    "/usr/local/nagios/libexec", "/usr/local/lib/nagios/plugins",
)


@dataclass(frozen=True)
class PluginOptions:
    """Configure the plugin check: the argv to run and extra environment."""

    command: list[str] = field(metadata={"help": "argv of the plugin: program and arguments, no shell"})
    env: dict[str, str] = field(default_factory=dict, metadata={"help": "extra environment variables"})

    def __post_init__(self) -> None:
        if not self.command or not self.command[0]:
            raise OptionError("command", "expected a non-empty list: the program and its arguments")
        if len(self.command) == 1 and " " in self.command[0].strip():
            raise OptionError(
                "command", f"expected an argv list like [check_disk, -w, '10%'], not a shell string "
                f"{self.command[0]!r}",
            )


class PluginCheck(BaseCheck[PluginOptions]):
    """Run a Monitoring Plugins executable and map its exit code and output to a result."""

    Options = PluginOptions
    accepts_thresholds = False
    threshold_help = "none: pass the plugin's own -w/-c arguments in command"

    def run(self, probe: Probe) -> CheckResult:
        argv = [find_executable(self.options.command[0], probe.environ), *self.options.command[1:]]
        env = {**probe.environ, **self.options.env} if self.options.env else None
        result = probe.run(argv, timeout=probe.timeout, env=env)
        return interpret(result, probe.timeout)


def find_executable(name: str, environ: Mapping[str, str]) -> str:
    """Return the path of plugin `name`: as given when it contains a '/', else found in PATH or the
    plugin directories; unchanged when found nowhere (running it then reports "not found")."""
    if "/" in name:
        return name
    search = os.pathsep.join([environ.get("PATH", os.defpath), *PLUGIN_DIRS])
    return shutil.which(name, path=search) or name


def interpret(result: CommandResult, timeout: float) -> CheckResult:
    """Map a finished plugin run to a result: exit code, summary, long output and perfdata.

    A timeout, a signal, an exit code outside 0-3 and a failed start are UNKNOWN, with whatever the
    plugin printed kept in the long output.
    """
    output = result.stdout
    if not output.strip() and result.stderr.strip():
        output = "(No output on stdout) stderr: " + result.stderr.strip()  # what Nagios 4 shows
    parsed = plugin_output.parse(output)
    long_lines = list(parsed.long_output) + [f"perfdata error: {e}" for e in parsed.perf_errors]
    status = Status.from_exit_code(result.returncode)
    problem = ""
    if result.start_error:
        problem = f"plugin could not be started: {result.start_error}"
    elif result.timed_out:
        problem = f"plugin timed out after {timeout:g}s"
    elif result.returncode < 0:
        problem = f"plugin killed by signal {-result.returncode} ({_signal_name(-result.returncode)})"
    elif status is None:
        problem = f"plugin exited with code {result.returncode}"
    if problem:
        said = [parsed.summary] if parsed.summary else []
        return CheckResult(Status.UNKNOWN, problem, parsed.metrics, "\n".join(said + long_lines))
    assert status is not None
    summary = parsed.summary or f"(plugin printed nothing, exit code {result.returncode})"
    return CheckResult(status, summary, parsed.metrics, "\n".join(long_lines))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"
