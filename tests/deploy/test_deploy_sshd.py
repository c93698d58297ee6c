"""`fernwart deploy` end to end: a real sshd per target host, a real collector process, the real wheels.

Each target is a loopback sshd of its own (own host key, config and authorized_keys, running as the
current user) with its own prefix (``prefix=`` in the inventory). systemd does not run here, so the
agent is started with --start-without-systemd and the unit is written below PREFIX/sysroot
(``--unit-root sysroot``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from fernwart.deploy import plan, wheels
from tests.e2e.processes import BIN, Collector, wait_for
from tests.sshd import SSHServer, keygen
from tests.support import free_port, require

pytestmark = [pytest.mark.ssh, pytest.mark.e2e]
CUSTOMER = "Muster GmbH"
OLD_PYTHON = Path("/root/.pyenv/versions/3.9.18/bin/python3.9")


@dataclass
class Site:
    collector: Collector
    token: str
    home: Path
    known_hosts: Path
    wheelhouse: wheels.Wheelhouse

    def env(self, **changes: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("FERNWART_")}
        return {**base, "HOME": str(self.home), "FERNWART_URL": self.collector.url,
                "FERNWART_TOKEN": self.token, **changes}

    def api(self, path: str) -> Any:
        r = requests.get(f"{self.collector.url}/api/v1{path}", timeout=10,
                         headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 200, r.text
        return r.json()

    def host_named(self, name: str) -> list[dict[str, Any]]:
        return [h for h in self.api("/hosts") if h["name"] == name]


@dataclass
class Host:
    server: SSHServer
    root: Path
    name: str

    @property
    def prefix(self) -> Path:
        return self.root / "opt"

    @property
    def config(self) -> Path:
        return self.prefix / "etc" / "agent.yaml"

    @property
    def unit(self) -> Path:
        return self.prefix / "sysroot" / "etc/systemd/system/fernwart-agent.service"

    @property
    def line(self) -> str:
        return f"127.0.0.1:{self.server.port} name={self.name} prefix={self.prefix}"

    def stop_agent(self) -> None:
        pid_file = self.config.parent / "state" / "agent.pid"
        if pid_file.exists():
            subprocess.run([sys.executable, "-c", plan.STOP, str(pid_file)], timeout=90, check=False)

    def leftovers(self) -> list[Path]:
        """Return what exists of the target's prefix (nothing, after a rollback of a fresh install)."""
        return sorted(self.root.rglob("*"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, wheelhouse: wheels.Wheelhouse) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("deploy")
    collector = Collector(root / "collector", job_interval=30)
    collector.cli("migrate")
    token = collector.cli("user", "add", "tech", "--role", "level2")
    collector.cli("token", "create", "--customer", CUSTOMER)  # the customer exists from here on
    collector.start()
    home = root / "home"
    home.mkdir()
    try:
        yield Site(collector, token, home, root / "known_hosts", wheelhouse)
    finally:
        collector.stop()


def _trust(site: Site, server: SSHServer) -> None:
    done = fernwart(site, "known-hosts", "trust", f"127.0.0.1:{server.port}", "--fingerprint",
                    server.host_fingerprint(), "--known-hosts", str(site.known_hosts))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"trusted [127.0.0.1]:{server.port} ssh-ed25519 SHA256:")


@pytest.fixture
def hosts(tmp_path: Path, site: Site, request: pytest.FixtureRequest) -> Iterator[list[Host]]:
    """Two targets, each its own sshd, all authorizing one client key; keys trusted via known-hosts."""
    made: list[Host] = []
    try:
        for index in range(2):
            server = SSHServer(tmp_path / f"sshd{index}").start()
            made.append(Host(server, tmp_path / f"target{index}", f"{request.node.name[5:20]}-{index}"
                             .replace("_", "-")))
            if index:
                server.authorized.write_text(made[0].server.authorized.read_text())
            _trust(site, server)
        yield made
    finally:
        for host in made:
            host.stop_agent()
            host.server.stop()


def fernwart(site: Site, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "fernwart"), *args], env=site.env(**env), capture_output=True,
                          text=True, timeout=600)


def deploy(site: Site, hosts: list[Host], *extra: str, key: Path | None = None,
           **env: str) -> subprocess.CompletedProcess[str]:
    inventory = hosts[0].root.parent / "hosts.txt"
    inventory.write_text("# test targets\n" + "".join(h.line + "\n" for h in hosts))
    house = site.wheelhouse
    return fernwart(
        site, "deploy", "--inventory", str(inventory), "--ssh-user", hosts[0].server.user,
        "--key", str(key or hosts[0].server.client_key), "--customer", CUSTOMER,
        "--known-hosts", str(site.known_hosts), "--unit-root", "sysroot", "--start-without-systemd",
        "--wheel", str(house.fernwart.path), "--wheelhouse", str(house.fernwart.path.parent),
        "--wait", "120", *extra, **env)


def rows(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Return the summary table's rows by host name."""
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["HOST", "RESULT", "VERSION", "DETAIL"], done.stdout + done.stderr
    return {line.split()[0]: line for line in lines[1:-1]}


def test_two_hosts_install_enroll_and_report_then_a_second_run_changes_nothing(
    site: Site, hosts: list[Host],
) -> None:
    done = deploy(site, hosts, "--parallel", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    table = rows(done)
    for host in hosts:
        assert table[host.name].split()[1:3] == ["installed", "0.2.0"], done.stdout
        assert "first report arrived" in table[host.name]
        assert f"{host.name}: [3/" in done.stderr  # plain progress lines: stderr is no terminal
        [found] = site.host_named(host.name)
        assert found["customer"] == CUSTOMER and found["last_seen_at"]
        results = wait_for("the agent's first results", lambda f=found: site.api(  # type: ignore[misc]
            f"/hosts/{f['id']}/results"), timeout=120)
        assert {r["check"] for r in results} <= {"cpu", "memory", "disk", "load", "ssh"}
        assert (host.prefix / "venv" / "bin" / "python").exists()
        assert not list(host.prefix.glob(".deploy-*"))  # the staging directory (wheels, token) is gone
        assert (host.config.parent / "agent.token").stat().st_mode & 0o777 == 0o600
        assert "ProtectSystem=strict" in host.unit.read_text()
    assert done.stdout.splitlines()[-1] == "2 installed"
    before = {p: p.stat().st_mtime_ns for h in hosts for p in (h.config, h.prefix / "deployed.json",
                                                               h.prefix / "venv" / "pyvenv.cfg", h.unit)}
    tokens = site.collector.cli("token", "list")

    again = deploy(site, hosts)
    assert again.returncode == 0, again.stdout + again.stderr
    for host in hosts:
        assert rows(again)[host.name].split()[1:3] == ["unchanged", "0.2.0"]
        assert "agent running: nothing changed" in rows(again)[host.name]
        assert len(site.host_named(host.name)) == 1
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert site.collector.cli("token", "list") == tokens  # no token made for an unchanged host...
    listing = subprocess.run([str(BIN / "fernwart-collector"), "token", "list"], env=site.collector.env,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert listing.count("used up") >= 2  # ...and the two used ones were single-use


def test_unknown_or_changed_host_keys_and_refused_keys_stop_the_host_before_anything_is_done(
    site: Site, hosts: list[Host], tmp_path: Path,
) -> None:
    unknown = SSHServer(tmp_path / "unknown").start()
    unknown.authorized.write_text(hosts[0].server.authorized.read_text())
    try:
        stranger = Host(unknown, tmp_path / "target-unknown", "stranger")
        hosts[1].server.replace_host_key()  # reinstalled, or someone in between
        done = deploy(site, [stranger, hosts[1]])
        assert done.returncode == 1
        table = rows(done)
        fingerprint = unknown.host_fingerprint()
        assert f"host key not trusted yet: ssh-ed25519 {fingerprint}" in table["stranger"]
        trust = (f"fernwart known-hosts trust [127.0.0.1]:{unknown.port} --fingerprint {fingerprint} "
                 f"--known-hosts {site.known_hosts}")
        assert trust in table["stranger"]
        assert "HOST KEY MISMATCH, refused" in table[hosts[1].name]
        assert hosts[1].server.host_fingerprint() in table[hosts[1].name]
        assert stranger.leftovers() == [] and hosts[1].leftovers() == []
        # the printed command, run as printed, records the key, and the host is reachable from then on
        trusted = fernwart(site, *trust.split()[1:])
        assert trusted.returncode == 0, trusted.stderr
        wrong_key = keygen(tmp_path / "not-authorized")
        refused = deploy(site, [stranger], key=wrong_key)
        assert refused.returncode == 1
        assert f"SSH authentication as {unknown.user} with {wrong_key} failed" in rows(refused)["stranger"]
        assert stranger.leftovers() == []
    finally:
        unknown.stop()


def test_a_target_without_python_3_11_is_named_and_left_alone(site: Site, hosts: list[Host]) -> None:
    require(OLD_PYTHON.exists(), f"an old Python for the target at {OLD_PYTHON}")
    done = deploy(site, hosts[:1], "--python", str(OLD_PYTHON))
    assert done.returncode == 1
    detail = rows(done)[hosts[0].name]
    assert "the target has Python 3.9.18; Fernwart needs Python 3.11 or newer" in detail
    missing = deploy(site, hosts[:1], "--python", "/nonexistent/python3")
    assert "no /nonexistent/python3 on the target" in rows(missing)[hosts[0].name]
    assert hosts[0].leftovers() == []


def test_a_collector_the_agent_cannot_reach_fails_and_is_rolled_back(site: Site, hosts: list[Host]) -> None:
    # The agent's enrollment failing on the target (here: no collector; an expired or revoked token
    # fails at the same step, see tests/collector/api/test_enrollment_tokens.py) rolls back everything
    # deploy made there. An expired token through deploy would race its TTL against the machine's speed.
    dead = f"http://127.0.0.1:{free_port()}"
    done = deploy(site, hosts[:1], "--collector-url", dead)
    assert done.returncode == 1
    detail = rows(done)[hosts[0].name]
    assert "enroll with the collector: exit 1:" in detail and dead in detail, detail
    assert hosts[0].leftovers() == []


def test_a_failure_after_enrollment_rolls_back_the_enrollment_venv_and_prefix(
    site: Site, hosts: list[Host], tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("the unit cannot go below a file")
    done = deploy(site, hosts[:1], "--unit-root", str(blocker))
    assert done.returncode == 1
    detail = rows(done)[hosts[0].name]
    assert "install the service: exit 1:" in detail and "rolled back" in detail
    [kept] = site.host_named(hosts[0].name)
    assert f"the collector keeps host {kept['id']}; deploy again with --replace" in detail
    assert hosts[0].leftovers() == []  # venv, config, token, outbox and the prefix itself are gone
    # deploying again without --replace is refused, naming the way out; with it, the machine takes over
    again = deploy(site, hosts[:1])
    assert "pass --replace to enroll this machine as that host" in rows(again)[hosts[0].name]
    assert hosts[0].leftovers() == []
    replaced = deploy(site, hosts[:1], "--replace")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert [h["id"] for h in site.host_named(hosts[0].name)] == [kept["id"]]


def test_the_collector_not_answering_or_an_unknown_customer_touch_no_host(
    site: Site, hosts: list[Host],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    done = deploy(site, hosts[:1], FERNWART_URL=dead)
    assert done.returncode == 1 and f"cannot reach the collector at {dead}" in done.stderr
    inventory = hosts[0].root.parent / "hosts.txt"
    unknown = fernwart(site, "deploy", "--inventory", str(inventory), "--ssh-user", "x", "--key",
                       str(hosts[0].server.client_key), "--customer", "Nobody AG")
    assert unknown.returncode == 1 and "customer 'Nobody AG': no such customer" in unknown.stderr
    assert hosts[0].leftovers() == []


def test_another_build_is_an_upgrade_that_keeps_the_enrollment(
    site: Site, hosts: list[Host], tmp_path: Path,
) -> None:
    first = deploy(site, hosts[:1])
    assert first.returncode == 0, first.stdout + first.stderr
    [enrolled] = site.host_named(hosts[0].name)
    pid_file = hosts[0].config.parent / "state" / "agent.pid"
    old_pid = pid_file.read_text().strip()
    rebuilt = tmp_path / "rebuilt" / site.wheelhouse.fernwart.path.name
    rebuilt.parent.mkdir()
    with zipfile.ZipFile(site.wheelhouse.fernwart.path) as source, zipfile.ZipFile(rebuilt, "w") as out:
        for item in source.infolist():
            out.writestr(item, source.read(item))
        out.writestr("fernwart/BUILD", "a rebuilt wheel of the same version")
    house = site.wheelhouse.fernwart.path.parent
    upgraded = fernwart(
        site, "deploy", "--inventory", str(hosts[0].root.parent / "hosts.txt"), "--ssh-user",
        hosts[0].server.user, "--key", str(hosts[0].server.client_key), "--customer", CUSTOMER,
        "--known-hosts", str(site.known_hosts), "--unit-root", "sysroot", "--start-without-systemd",
        "--wheel", str(rebuilt), "--wheelhouse", str(house), "--wait", "120")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert rows(upgraded)[hosts[0].name].split()[1:3] == ["upgraded", "0.2.0"]
    assert [h["id"] for h in site.host_named(hosts[0].name)] == [enrolled["id"]]
    assert (hosts[0].prefix / "venv" / "lib").exists() and not (hosts[0].prefix / "venv.previous").exists()
    assert list((hosts[0].prefix / "venv" / "lib").glob("python*/site-packages/fernwart/BUILD"))
    assert pid_file.read_text().strip() != old_pid  # the agent of the new build runs
