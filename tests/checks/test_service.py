"""The service check on canned `systemctl show` results."""

from __future__ import annotations

import pytest

from fernwart.checks.probe import CommandResult
from fernwart.checks.service import ServiceCheck
from fernwart.checks.status import Status
from tests.checks.fakes import FakeRunner, done, make_probe


def show(**props: str) -> CommandResult:
    return done("".join(f"{k}={v}\n" for k, v in props.items()))


@pytest.mark.parametrize(
    ("props", "options", "status", "summary"),
    [
        ({"LoadState": "loaded", "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled"},
         {"enabled": True}, Status.OK, "nginx.service active (running)"),
        ({"LoadState": "loaded", "ActiveState": "failed", "SubState": "failed", "Result": "exit-code"},
         {}, Status.CRITICAL, "nginx.service failed (failed), result exit-code"),
        ({"LoadState": "loaded", "ActiveState": "inactive", "SubState": "dead"}, {}, Status.CRITICAL,
         "nginx.service inactive (dead)"),
        ({"LoadState": "loaded", "ActiveState": "inactive", "SubState": "dead"}, {"allow_inactive": True},
         Status.OK, "nginx.service inactive (dead)"),
        ({"LoadState": "loaded", "ActiveState": "activating", "SubState": "start"}, {}, Status.WARNING,
         "nginx.service activating (start)"),
        ({"LoadState": "not-found", "ActiveState": "inactive"}, {}, Status.CRITICAL,
         "nginx.service is not-found"),
        ({"LoadState": "loaded", "ActiveState": "active", "SubState": "running", "UnitFileState": "disabled"},
         {"enabled": True}, Status.WARNING, "nginx.service is disabled, not enabled"),
        ({"LoadState": "loaded", "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled"},
         {"enabled": False}, Status.WARNING, "nginx.service is enabled, expected it not to be"),
    ],
)
def test_states(props: dict[str, str], options: dict[str, object], status: Status, summary: str) -> None:
    runner = FakeRunner({"systemctl": show(**props)})
    result = ServiceCheck.from_config({"unit": "nginx.service", **options}).run(make_probe(run=runner))
    assert (result.status, result.summary) == (status, summary)
    assert runner.calls[0][:3] == ("systemctl", "show", "nginx.service")


@pytest.mark.parametrize(
    ("answer", "summary"),
    [
        (done("", 1, stderr="System has not been booted with systemd as init system (PID 1). Can't operate.\n"
                            "Failed to connect to bus: Host is down\n"),
         "systemd is not running on this host: System has not been booted with systemd as init system "
         "(PID 1). Can't operate."),
        (None, "systemd is not available here: systemctl not found (systemctl: not found)"),
        (done("", 1, stderr="Access denied\n"),
         "systemctl show nginx.service failed (exit 1): Access denied"),
    ],
)
def test_without_systemd_or_broken_systemctl_is_unknown(answer: CommandResult | None, summary: str) -> None:
    runner = FakeRunner({"systemctl": answer} if answer else {})
    result = ServiceCheck.from_config({"unit": "nginx.service"}).run(make_probe(run=runner))
    assert (result.status, result.summary) == (Status.UNKNOWN, summary)
