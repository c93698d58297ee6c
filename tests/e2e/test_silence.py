"""End to end (issue 12 §2): a real agent that is stopped is silent (no data); one whose collector is
stopped replays real results that win. On SQLite and PostgreSQL, with a one-second heartbeat."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.processes import Agent, Api, Collector, plugin_check, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("database_url")]
CUSTOMER = "Muster GmbH"
CONTRACT = {"customers": [{"name": CUSTOMER, "contract": {
    "kind": "full", "timezone": "UTC", "service_hours": "24x7",
    "availability": {"target": 99.9, "counts": ["check:app"], "no_data": "exclude"},
    "priorities": {"matrix": {i: {"critical": "P1", "warning": "P2"} for i in ("high", "normal", "low")},
                   "P1": {"response": "30m", "resolution": "4h"},
                   "P2": {"response": "2h", "resolution": "1d"}},
}, "hosts": [{"match": "*", "criticality": "high"}]}]}


@pytest.fixture
def system(tmp_path: Path, database_url: str) -> Iterator[tuple[Collector, Agent, Api]]:
    collector = Collector(tmp_path / "collector", database_url, job_interval=0.5)
    admin = collector.cli("user", "add", "tech", "--role", "admin")
    enrollment = collector.cli("token", "create", "--customer", CUSTOMER, "--uses", "1")
    agent = Agent(tmp_path / "agent")
    try:
        collector.start()
        r = requests.put(f"{collector.url}/api/v1/contracts", json=CONTRACT, timeout=10,
                         headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200, r.text
        agent.enroll(collector.url, enrollment, "e2e-host")
        state = tmp_path / "plugin.state"
        state.write_text("0")
        agent.set_checks([plugin_check(state, max_attempts=1)], heartbeat_interval=1)  # stale after 3 s
        agent.start()
        yield collector, agent, Api(collector.url, admin)
    finally:
        agent.stop()
        collector.stop()


def _host_state(api: Api) -> str:
    return str(api.get("/api/v1/hosts")[0]["state"])


def _figures(api: Api, start: datetime) -> Any:
    end = datetime.now(UTC) + timedelta(hours=1)
    period = {"from": start.isoformat(), "to": end.isoformat()}
    return api.get("/api/v1/availability", customer=CUSTOMER, **period)


def test_a_stopped_agent_is_no_data(system: tuple[Collector, Agent, Api]) -> None:
    _, agent, api = system
    results = f"/api/v1/hosts/{agent.host_id}/results"
    wait_for("first results", lambda: len(api.get(results, check="app")) >= 2)
    start = datetime.now(UTC)
    wait_for("a result in the period", lambda: len(api.get(results, check="app")) >= 4)
    agent.stop()
    wait_for("host unreachable", lambda: _host_state(api) == "unreachable")
    stale_seen = time.monotonic()
    agent.start()
    wait_for("host up again", lambda: _host_state(api) == "up")
    gap = time.monotonic() - stale_seen
    body = _figures(api, start)
    assert body["downtime_seconds"] == 0 and body["sli"] == 100  # the last status (OK) is not carried on
    assert body["no_data_seconds"] >= gap - 1.5  # the stale span, less up to a check interval of slack
    assert body["counted_seconds"] > 0


def test_a_cut_off_agent_replays_real_results(system: tuple[Collector, Agent, Api]) -> None:
    collector, agent, api = system
    results = f"/api/v1/hosts/{agent.host_id}/results"
    wait_for("first results", lambda: len(api.get(results, check="app")) >= 2)
    start = datetime.now(UTC)
    wait_for("a result in the period", lambda: len(api.get(results, check="app")) >= 4)
    collector.stop()
    time.sleep(5)  # longer than stale_after (3 s); the agent keeps checking into its outbox
    collector.start()
    cut_until = datetime.now(UTC)
    wait_for("replayed results", lambda: any(
        datetime.fromisoformat(r["observed_at"]) > cut_until - timedelta(seconds=2)
        for r in api.get(results, check="app")))
    body = _figures(api, start)
    assert body["no_data_seconds"] == 0 and body["downtime_seconds"] == 0 and body["sli"] == 100
