"""End to end: a real agent's host facts reach the host record; a host of an approval customer waits."""

from __future__ import annotations

import platform
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.processes import Agent, Api, Collector, plugin_check, wait_for

pytestmark = pytest.mark.e2e
CUSTOMER = "Muster GmbH"


def approval_contract() -> dict[str, Any]:
    return {"customers": [{"name": CUSTOMER, "contract": {
        "kind": "full", "timezone": "UTC", "approval": "required",
        "priorities": {"matrix": {i: {"critical": "P1", "warning": "P1"} for i in ("high", "normal", "low")},
                       "P1": {"response": "30m", "resolution": "4h"}},
    }}]}


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[Collector, Agent, Api]]:
    collector = Collector(tmp_path / "collector")
    tech = collector.cli("user", "add", "tech", "--role", "level2")
    (tmp_path / "contract.yaml").write_text(yaml.safe_dump(approval_contract()))
    collector.cli("apply", str(tmp_path / "contract.yaml"))
    enrollment = collector.cli("token", "create", "--customer", CUSTOMER)
    agent = Agent(tmp_path / "agent")
    try:
        collector.start()
        agent.enroll(collector.url, enrollment, "web01")
        yield collector, agent, Api(collector.url, tech)
    finally:
        agent.stop()
        collector.stop()


def test_the_agents_facts_are_on_the_host_record(system: tuple[Collector, Agent, Api]) -> None:
    collector, agent, api = system
    host = api.get(f"/api/v1/hosts/{agent.host_id}")  # sent with the enrollment already
    facts = host["facts"]
    assert facts["kernel"] == platform.release() and facts["hostname"]
    assert all(a["address"] not in ("127.0.0.1", "::1") for a in facts["addresses"])
    keygen = shutil.which("ssh-keygen")
    pubs = sorted(Path("/etc/ssh").glob("ssh_host_*_key.pub"))
    if keygen and pubs:
        printed = {subprocess.run([keygen, "-lf", str(p)], capture_output=True, text=True, timeout=30,
                                  check=True).stdout.split()[1] for p in pubs}
        assert {k["fingerprint"] for k in host["ssh_host_keys"]} == printed


def test_a_pending_host_opens_no_ticket_until_approved_on_the_command_line(
    system: tuple[Collector, Agent, Api], tmp_path: Path,
) -> None:
    collector, agent, api = system
    state = tmp_path / "plugin.state"
    state.write_text("2")  # failing from the start
    agent.set_checks([plugin_check(state, max_attempts=1)], heartbeat_interval=5)
    agent.start()
    results = f"/api/v1/hosts/{agent.host_id}/results"
    wait_for("results kept while pending", lambda: len(api.get(results, check="app")) >= 3)
    assert api.get("/api/v1/tickets", state="open") == []
    assert api.get(f"/api/v1/hosts/{agent.host_id}/checks") == []
    assert api.get(f"/api/v1/hosts/{agent.host_id}")["approval"] == "pending"
    line = collector.cli("host", "approve", "web01", "--by", "anna")
    assert line.startswith("host web01 approved")
    opened = wait_for("a ticket once approved", lambda: api.get("/api/v1/tickets", state="open"))
    assert [(t["check"], t["host"]) for t in opened] == [("app", "web01")]
    host = api.get(f"/api/v1/hosts/{agent.host_id}")
    assert (host["approval"], host["approved_by"], host["state"]) == ("approved", "anna", "up")
