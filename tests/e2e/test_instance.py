"""End to end: two real agent processes with one host's token (a cloned VM) against a real collector."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fernwart.agent.outbox import Outbox
from tests.e2e.processes import BIN, Agent, Api, Collector, plugin_check, wait_for

pytestmark = pytest.mark.e2e
REFUSED_LINE = "the collector refuses this agent instance"


def instance_of(agent: Agent) -> str:
    return str(json.loads((agent.dir / "state" / "instance.json").read_text())["instance_id"])


def outbox_count(agent: Agent) -> int:
    with Outbox(agent.dir / "outbox.sqlite") as box:
        return box.count()


def log_lines(path: Path, text: str) -> list[str]:
    return [line for line in path.read_text(errors="replace").splitlines() if text in line]


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[Collector, Agent, Agent, Api]]:
    collector = Collector(tmp_path / "collector")
    tech = collector.cli("user", "add", "tech", "--role", "level1")
    enrollment = collector.cli("token", "create", "--customer", "Muster GmbH")
    original, clone = Agent(tmp_path / "original"), Agent(tmp_path / "clone")
    try:
        collector.start()
        original.enroll(collector.url, enrollment, "web01")
        original.set_checks([plugin_check(tmp_path / "ok.state", interval=1)], heartbeat_interval=5)
        (tmp_path / "ok.state").write_text("0")
        # the clone: the same config and token, its own state directory (as a clone with a new machine id)
        for name in ("agent.yaml", "agent.token"):
            shutil.copy2(original.dir / name, clone.dir / name)
        yield collector, original, clone, Api(collector.url, tech)
    finally:
        clone.stop()
        original.stop()
        collector.stop()


def test_a_second_instance_with_the_same_token_is_refused_on_both_sides_and_shown(
    system: tuple[Collector, Agent, Agent, Api],
) -> None:
    collector, original, clone, api = system
    original.start()
    results = f"/api/v1/hosts/{original.host_id}/results"
    wait_for("the original's first results", lambda: api.get(results, check="app"))
    clone.start()
    wait_for("the clone to say it was refused", lambda: log_lines(clone.log, REFUSED_LINE))
    host = wait_for("the conflict on the host record",
                    lambda: (h := api.get(f"/api/v1/hosts/{original.host_id}"))["instance_conflict"] and h)
    assert host["agent_instance"] == instance_of(original)
    assert host["instance_conflict"] == instance_of(clone) != instance_of(original)
    assert host["instance_conflict_at"]
    # the original keeps reporting while the clone stays refused
    def count() -> int:
        return len(api.get(results, check="app", limit=5000))

    before = count()
    wait_for("more results of the original", lambda: count() > before + 2)
    wait_for("results kept by the clone", lambda: outbox_count(clone) >= 1)
    clone.stop()
    (line,) = log_lines(clone.log, REFUSED_LINE)  # one clear line, no retry storm
    assert "instance" in line and "reset-instance" in line
    (logged,) = log_lines(collector.log, "refused agent instance")  # logged once on the collector too
    assert instance_of(clone) in logged
    with Outbox(clone.dir / "outbox.sqlite") as box:
        assert box.count() > 0  # the clone kept what it could not send
    shown = subprocess.run(
        [str(BIN / "fernwart"), "host", "web01"], capture_output=True, text=True, timeout=30,
        env={"FERNWART_URL": collector.url, "FERNWART_TOKEN": api.headers["Authorization"][7:],
             "PATH": "/usr/bin:/bin"},
    )
    assert shown.returncode == 0, shown.stderr
    assert f"refused instance {instance_of(clone)}" in shown.stdout


def test_after_a_reinstall_reset_instance_lets_the_new_instance_deliver_its_outbox(
    system: tuple[Collector, Agent, Agent, Api],
) -> None:
    collector, original, clone, api = system
    clone.start()  # the "reinstalled" machine, while the old instance is still bound from enrollment
    wait_for("the new instance to be refused", lambda: log_lines(clone.log, REFUSED_LINE))
    wait_for("results kept by the refused instance", lambda: outbox_count(clone) >= 2)  # checks go on
    clone.stop()
    with Outbox(clone.dir / "outbox.sqlite") as box:
        waiting = {e.id for e in box.peek(1000)}
    assert waiting
    collector.cli("host", "reset-instance", "web01")
    clone.start()
    results = f"/api/v1/hosts/{original.host_id}/results"

    def delivered() -> set[str] | None:
        stored = {r["id"] for r in api.get(results, limit=5000)}
        return stored if waiting <= stored else None

    wait_for("the kept results to arrive", delivered)
    host: dict[str, Any] = api.get(f"/api/v1/hosts/{original.host_id}")
    assert host["agent_instance"] == instance_of(clone) and host["instance_conflict"] is None
