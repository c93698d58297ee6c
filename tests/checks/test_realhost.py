"""Every check type once against this real machine, through the real probe (no fixtures)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fernwart.checks import registry
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from tests.checks.servers import http_server, https_server, make_certificate, sntp_server, tcp_listener
from tests.support import require_executable

pytestmark = pytest.mark.realhost

DECIDED = (Status.OK, Status.WARNING, Status.CRITICAL)
# A threshold no live reading can cross, whatever the machine's load: "0:" alerts only below zero, and what
# these checks judge (a latency, an absolute clock offset, a load average) is never negative. A test of a
# live reading sets it for both thresholds, so how busy the machine is cannot decide the status.
NEVER = "0:"


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    real = Probe(timeout=15.0, state_dir=tmp_path / "state")
    yield real
    real.http.close()


def run(probe: Probe, type_name: str, options: dict[str, object] | None = None,
        warning: str | None = None, critical: str | None = None) -> CheckResult:
    result = registry.create(type_name, options, warning, critical).run(probe)
    assert result.summary, type_name
    return result


def test_cpu_memory_swap_load_uptime(probe: Probe) -> None:
    cpu = run(probe, "cpu", {"per_core": True, "window": 0.2})
    assert cpu.status in DECIDED and 0 <= (cpu.metrics[0].value or 0) <= 100
    assert len([m for m in cpu.metrics if m.label.startswith("cpu")]) == 1 + (psutil.cpu_count() or 1)
    memory = run(probe, "memory")
    assert memory.status in DECIDED and 0 < (memory.metrics[0].value or 0) < 100
    swap = run(probe, "swap")
    assert swap.status in DECIDED
    assert (swap.summary == "no swap configured") == (psutil.swap_memory().total == 0)
    load = run(probe, "load", {"per_core": False}, warning=NEVER, critical=NEVER)
    assert load.status is Status.OK and [m.label for m in load.metrics] == ["load1", "load5", "load15"]
    uptime = run(probe, "uptime", warning="1:")
    assert uptime.status is Status.OK and (uptime.metrics[0].value or 0) > 0


def test_disk_sees_the_root_filesystem(probe: Probe) -> None:
    result = run(probe, "disk", {"mounts": ["/"]}, warning="100", critical="100")
    assert result.status is Status.OK
    assert result.metrics[0].label == "/" and 0 < (result.metrics[0].value or 0) <= 100
    everything = run(probe, "disk")
    assert everything.status in DECIDED
    assert not any(m.label.startswith(("/proc", "/sys", "/dev/pts")) for m in everything.metrics)


def test_process_finds_pid_1(probe: Probe) -> None:
    init = psutil.Process(1).name()
    result = run(probe, "process", {"process_name": init, "min_count": 1})
    assert result.status is Status.OK and (result.metrics[0].value or 0) >= 1


def test_tcp_http_tls_against_loopback_servers(probe: Probe, tmp_path: Path) -> None:
    with tcp_listener() as port:
        assert run(probe, "tcp", {"host": "127.0.0.1", "port": port}, NEVER, NEVER).status is Status.OK
    with http_server() as port:
        http = run(probe, "http", {"url": f"http://127.0.0.1:{port}/", "body_pattern": "fernwart"},
                   NEVER, NEVER)
    assert http.status is Status.OK
    require_executable("openssl")
    cert, key = make_certificate(tmp_path, "localhost", days=90)
    with https_server(cert, key) as port:
        tls = run(probe, "tls_cert", {"host": "127.0.0.1", "port": port, "server_name": "localhost",
                                      "ca_file": cert})
        https = run(probe, "http", {"url": f"https://localhost:{port}/", "ca_file": cert}, NEVER, NEVER)
    assert tls.status is Status.OK
    assert https.status is Status.OK and https.metrics[-1].label == "cert_days"


def test_file_age_and_log_on_real_files(probe: Probe, tmp_path: Path) -> None:
    (tmp_path / "backup.tar").write_bytes(b"x" * 100)
    assert run(probe, "file_age", {"directory": str(tmp_path), "pattern": "*.tar"}).status is Status.OK
    log = tmp_path / "app.log"
    log.write_text("")
    check = registry.create("log", {"path": str(log), "pattern": "ERROR"})
    check.run(probe)
    log.write_text("ERROR one\n")
    assert check.run(probe).status is Status.WARNING


def test_clock_against_a_loopback_sntp_server_and_the_system(probe: Probe) -> None:
    with sntp_server(0.0) as port:
        result = run(probe, "clock", {"server": "127.0.0.1", "port": port}, NEVER, NEVER)
    assert result.status is Status.OK
    system = run(probe, "clock")
    if Path("/run/systemd/system").exists():
        assert system.status in (Status.OK, Status.WARNING)
    else:
        assert system.status is Status.UNKNOWN and "timedatectl" in system.summary


def test_service_without_or_with_systemd(probe: Probe) -> None:
    result = run(probe, "service", {"unit": "fernwart-surely-absent.service"})
    if Path("/run/systemd/system").exists():
        assert result.status is Status.CRITICAL
        assert result.summary == "fernwart-surely-absent.service is not-found"
    else:
        assert result.status is Status.UNKNOWN
        assert result.summary.startswith(("systemd is not running on this host", "systemd is not available"))


def test_raid_smart_updates(probe: Probe) -> None:
    raid = run(probe, "raid")
    if os.path.exists("/proc/mdstat"):
        assert raid.status in DECIDED
    else:
        assert (raid.status, raid.summary) == (Status.OK, "no md arrays")
    smart = run(probe, "smart")
    if probe.which("smartctl") is None:
        assert smart.summary == "smartctl is not installed (install smartmontools)"
    else:
        assert smart.status in (*DECIDED, Status.UNKNOWN)  # UNKNOWN: devices the agent may not open
    updates = run(probe, "updates", {"security_warning": None})
    if probe.which("apt-get"):
        assert updates.summary.startswith("apt: ") and updates.status in DECIDED
        assert [m.label for m in updates.metrics] == ["updates", "security_updates"]


def test_dns_and_ping_localhost(probe: Probe) -> None:
    dns = run(probe, "dns", {"query": "localhost"}, NEVER, NEVER)
    assert dns.status is Status.OK
    require_executable("ping")
    ping = run(probe, "ping", {"host": "127.0.0.1", "count": 2}, NEVER, NEVER)
    assert ping.status is Status.OK, ping.summary
    assert [m.label for m in ping.metrics] == ["rta", "pl"] and ping.metrics[1].value == 0
