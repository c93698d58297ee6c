"""End to end: a real collector process and a real agent process on loopback."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import Agent, Api, Collector, plugin_check, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def system(tmp_path: Path) -> Any:
    collector = Collector(tmp_path / "collector")
    admin = collector.cli("user", "add", "tech", "--role", "level1")
    enrollment = collector.cli("token", "create", "--customer", "Muster GmbH", "--uses", "1")
    agent = Agent(tmp_path / "agent")
    try:
        collector.start()
        agent.enroll(collector.url, enrollment, "e2e-host")
        yield collector, agent, Api(collector.url, admin)
    finally:
        agent.stop()
        collector.stop()


def test_plugin_failure_opens_ticket_and_recovery_resolves_it(system: Any, tmp_path: Path) -> None:
    collector, agent, api = system
    state = tmp_path / "plugin.state"
    state.write_text("0")
    agent.set_checks([plugin_check(state, max_attempts=2)])
    agent.start()
    checks = f"/api/v1/hosts/{agent.host_id}/checks"

    def app_state() -> dict[str, Any] | None:
        return next((c for c in api.get(checks) if c["check"] == "app"), None)

    wait_for("the app check to report OK", lambda: (s := app_state()) and s["status_name"] == "OK")
    state.write_text("2")
    opened = wait_for("a ticket for the failing check", lambda: api.get("/api/v1/tickets", state="open"))
    assert [(t["check"], t["host"], t["status"]) for t in opened] == [("app", "e2e-host", "CRITICAL")]
    hard = app_state()
    assert hard is not None and (hard["state_type"], hard["status_name"]) == ("HARD", "CRITICAL")
    state.write_text("0")
    wait_for("the ticket to be resolved", lambda: api.get("/api/v1/tickets", state="open") == [])
    ticket = api.get(f"/api/v1/tickets/{opened[0]['id']}")
    assert ticket["state"] == "resolved"
    assert [e["kind"] for e in ticket["events"]][:1] == ["opened"] and "recovered" in [
        e["kind"] for e in ticket["events"]
    ]


def test_results_produced_while_collector_is_down_are_stored_exactly_once(
    system: Any, tmp_path: Path
) -> None:
    collector, agent, api = system
    state = tmp_path / "plugin.state"
    state.write_text("0")
    agent.set_checks([plugin_check(state, max_attempts=3)])
    agent.start()
    results = f"/api/v1/hosts/{agent.host_id}/results"
    wait_for("first results", lambda: len(api.get(results, check="app")) >= 2)

    collector.stop()
    down_from = time.time()
    time.sleep(6)  # the agent keeps checking every second; its sender backs off
    down_until = time.time()
    collector.start()

    runs = [line.split() for line in Path(f"{state}.log").read_text().splitlines()]
    produced_while_down = {token for at, token in runs if down_from < float(at) < down_until}
    assert len(produced_while_down) >= 3

    def stored_tokens() -> Counter[str]:
        rows = api.get(results, check="app", limit=5000)
        return Counter(r["summary"].split("run ")[1] for r in rows)

    stored = wait_for(
        "the outbox replay", lambda: (c := stored_tokens()) and produced_while_down <= set(c) and c
    )
    assert all(stored[t] == 1 for t in produced_while_down)
    assert max(stored.values()) == 1  # no run stored twice, before, during or after the outage
    replayed = [
        r
        for r in api.get(results, check="app", limit=5000)
        if r["summary"].split("run ")[1] in produced_while_down
    ]
    for r in replayed:  # each result keeps the time it was observed, not the time it arrived
        observed = datetime.fromisoformat(r["observed_at"]).timestamp()
        received = datetime.fromisoformat(r["received_at"]).timestamp()
        assert down_from - 1 < observed < down_until + 1 <= received + 1
    assert datetime.now(UTC).timestamp() >= down_until
    host = api.get("/api/v1/hosts")[0]
    assert host["state"] == "up"
