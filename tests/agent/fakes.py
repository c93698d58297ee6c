"""Test-local check types, registered in checks.registry.CHECK_TYPES by the `fake_types` fixture."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status

RELEASE = threading.Event()  # HangCheck blocks until a test sets this


@dataclass(frozen=True)
class ValueOptions:
    value: float = field(default=0.0, metadata={"help": "the value compared with the thresholds"})
    label: str = "value"


class ValueCheck(BaseCheck[ValueOptions]):
    """Reports a configured value against warning/critical."""

    Options = ValueOptions
    default_warning = "80"
    default_critical = "90"

    def run(self, probe: Probe) -> CheckResult:
        value = self.options.value
        return CheckResult(
            self.classify(value), f"{self.options.label} is {value:g}",
            (self.metric(self.options.label, value, "%", min=0, max=100),),
        )


@dataclass(frozen=True)
class StatusOptions:
    status: str = "OK"
    summary: str = "fine"


class StatusCheck(BaseCheck[StatusOptions]):
    """Returns the configured status; takes no thresholds."""

    Options = StatusOptions
    accepts_thresholds = False

    def run(self, probe: Probe) -> CheckResult:
        return CheckResult(Status.parse(self.options.status), self.options.summary)


class RaiseCheck(BaseCheck[ValueOptions]):
    Options = ValueOptions

    def run(self, probe: Probe) -> CheckResult:
        raise RuntimeError("sensor exploded")


class HangCheck(BaseCheck[ValueOptions]):
    Options = ValueOptions

    def run(self, probe: Probe) -> CheckResult:
        RELEASE.wait(30)
        return CheckResult(Status.OK, "released")


@dataclass(frozen=True)
class CommandOptions:
    command: list[str] = field(default_factory=list)


class CommandCheck(BaseCheck[CommandOptions]):
    """Runs a command through the probe, as the plugin check does."""

    Options = CommandOptions

    def run(self, probe: Probe) -> CheckResult:
        done = probe.run(self.options.command, probe.timeout)
        if done.timed_out:
            return CheckResult(Status.UNKNOWN, f"command killed after {probe.timeout:g}s")
        return CheckResult(Status(done.returncode), done.stdout.strip())


@dataclass(frozen=True)
class TcpOptions:
    port: int
    host: str = "127.0.0.1"


class TcpCheck(BaseCheck[TcpOptions]):
    Options = TcpOptions

    def run(self, probe: Probe) -> CheckResult:
        return CheckResult(Status.OK, f"{self.options.host}:{self.options.port}")


FAKE_TYPES = {
    "t_value": "tests.agent.fakes.ValueCheck",
    "t_status": "tests.agent.fakes.StatusCheck",
    "t_raise": "tests.agent.fakes.RaiseCheck",
    "t_hang": "tests.agent.fakes.HangCheck",
    "t_command": "tests.agent.fakes.CommandCheck",
}
# Stand-ins for the default checks enrollment writes, so those tests do not depend on checks/ progress.
DEFAULT_STANDINS = {
    "cpu": "tests.agent.fakes.ValueCheck",
    "memory": "tests.agent.fakes.ValueCheck",
    "disk": "tests.agent.fakes.ValueCheck",
    "load": "tests.agent.fakes.ValueCheck",
    "tcp": "tests.agent.fakes.TcpCheck",
}
