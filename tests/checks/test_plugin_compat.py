"""The plugin check running Debian's real monitoring-plugins binaries; statuses and perfdata matched."""

from __future__ import annotations

import pytest

from fernwart.checks.plugin import PluginCheck
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from tests.checks.servers import http_server, sntp_server, tcp_listener
from tests.support import free_port, require_executable

pytestmark = pytest.mark.plugins


def run_plugin(name: str, *args: str, timeout: float = 15.0) -> CheckResult:
    path = require_executable(name, "apt-get install monitoring-plugins-basic monitoring-plugins-standard")
    return PluginCheck.from_config({"command": [path, *args]}).run(Probe(timeout=timeout))


@pytest.mark.parametrize("code", [0, 1, 2, 3])
def test_check_dummy_every_exit_code_and_text(code: int) -> None:
    result = run_plugin("check_dummy", str(code), "text with spaces")
    assert result.status == Status(code)
    assert result.summary == f"{Status(code).name}: text with spaces"
    assert result.metrics == ()


def test_check_dummy_unsupported_state_is_unknown() -> None:
    result = run_plugin("check_dummy", "7")
    assert result.status is Status.UNKNOWN
    assert "not a supported" in result.summary


def test_check_dummy_found_by_bare_name() -> None:
    require_executable("check_dummy")
    result = PluginCheck.from_config({"command": ["check_dummy", "1", "bare"]}).run(Probe(timeout=10))
    assert (result.status, result.summary) == (Status.WARNING, "WARNING: bare")


def test_check_disk_root_perfdata_in_bytes() -> None:
    result = run_plugin("check_disk", "-w", "1%", "-c", "0%", "-p", "/")
    assert result.status in (Status.OK, Status.WARNING)
    assert result.summary.startswith("DISK ")
    (root,) = [m for m in result.metrics if m.label == "/"]
    assert root.uom == "B" and root.value is not None and root.max is not None and 0 <= root.value <= root.max


def test_check_disk_impossible_threshold_is_critical() -> None:
    result = run_plugin("check_disk", "-w", "100%", "-c", "100%", "-p", "/")  # demands 100% free
    assert result.status is Status.CRITICAL
    assert any(m.label == "/" for m in result.metrics)


def test_check_load_three_values_with_thresholds() -> None:
    result = run_plugin("check_load", "-w", "1000,1000,1000", "-c", "2000,2000,2000")
    assert result.status is Status.OK
    assert [m.label for m in result.metrics] == ["load1", "load5", "load15"]
    assert all(m.warn == "1000.000" and m.crit == "2000.000" and m.min == 0 for m in result.metrics)
    critical = run_plugin("check_load", "-w", "0,0,0", "-c", "0,0,0")
    assert critical.status in (Status.OK, Status.CRITICAL)  # CRITICAL unless the host is perfectly idle


def test_check_procs_count() -> None:
    result = run_plugin("check_procs", "-w", "1:100000", "-c", "1:200000")
    assert result.status is Status.OK
    (procs,) = result.metrics
    assert procs.label == "procs" and procs.value is not None and procs.value >= 1
    none = run_plugin("check_procs", "-c", "1:", "-C", "no-such-process-name")
    assert none.status is Status.CRITICAL


def test_check_tcp_against_a_listening_socket_and_a_closed_port() -> None:
    with tcp_listener() as port:
        result = run_plugin("check_tcp", "-H", "127.0.0.1", "-p", str(port))
    assert result.status is Status.OK
    assert result.metrics[0].label == "time" and result.metrics[0].uom == "s"
    closed = run_plugin("check_tcp", "-H", "127.0.0.1", "-p", str(free_port()))
    assert closed.status is Status.CRITICAL
    assert "refused" in closed.summary


def test_check_http_against_a_local_server() -> None:
    with http_server() as port:
        ok = run_plugin("check_http", "-H", "127.0.0.1", "-p", str(port), "-u", "/", "-s", "fernwart")
        missing = run_plugin("check_http", "-H", "127.0.0.1", "-p", str(port), "-u", "/missing")
        no_match = run_plugin("check_http", "-H", "127.0.0.1", "-p", str(port), "-u", "/", "-s", "absent")
    assert ok.status is Status.OK and ok.summary.startswith("HTTP OK")
    assert {m.label for m in ok.metrics} >= {"time", "size"}
    assert missing.status is Status.WARNING  # check_http: 4xx is WARNING by default
    assert no_match.status is Status.CRITICAL


def test_check_users() -> None:
    result = run_plugin("check_users", "-w", "1000", "-c", "2000")
    assert result.status is Status.OK
    assert result.metrics[0].label == "users"


def test_check_swap_is_parsed_with_or_without_swap() -> None:
    import psutil

    result = run_plugin("check_swap", "-w", "1%", "-c", "0%", "-n", "warning")
    assert result.metrics[0].label == "swap" and result.metrics[0].uom == "B"
    if psutil.swap_memory().total == 0:
        assert result.status is Status.WARNING  # -n: the state for a host without swap
        assert "disabled, not present" in result.summary
    else:
        assert result.status in (Status.OK, Status.WARNING)


@pytest.mark.parametrize(
    ("offset", "status"), [(0.0, Status.OK), (0.8, Status.WARNING), (3.0, Status.CRITICAL)],
)
def test_check_ntp_time_against_a_local_sntp_responder(offset: float, status: Status) -> None:
    with sntp_server(offset) as port:
        result = run_plugin("check_ntp_time", "-H", "127.0.0.1", "-p", str(port), "-w", "0.5", "-c", "1")
    assert result.status is status
    (metric,) = result.metrics
    assert metric.label == "offset" and metric.uom == "s" and metric.value == pytest.approx(offset, abs=0.2)


def test_check_ntp_time_without_a_server_is_critical() -> None:
    result = run_plugin("check_ntp_time", "-H", "127.0.0.1", "-p", str(free_port()), "-t", "2")
    assert result.status is Status.CRITICAL
    assert "No response" in result.summary


def test_plugin_killed_at_timeout_is_unknown() -> None:
    path = require_executable("sleep")
    result = PluginCheck.from_config({"command": [path, "5"]}).run(Probe(timeout=0.3))
    assert result.status is Status.UNKNOWN
    assert result.summary == "plugin timed out after 0.3s"
