"""`fernwart-agent status`: a real agent process running and stopped, and the outbox counts."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fernwart.agent.cli import main
from fernwart.agent.config import load_config
from fernwart.agent.outbox import Outbox
from fernwart.agent.status import agent_status, outbox_counts, record_delivery
from tests.agent.collector_stub import CollectorStub
from tests.agent.helpers import stamped
from tests.agent.test_cli import RUN_AGENT
from tests.support import REPO

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def write_agent(tmp_path: Path, collector: str) -> Path:
    (tmp_path / "agent.token").write_text("fwa_secret\n")
    config = tmp_path / "agent.yaml"
    config.write_text(f"collector: {collector}\nhost_id: host-1\nheartbeat_interval: 60\n"
                      "checks:\n  - {name: slow, type: t_value, interval: 3600, value: 1}\n")
    return config


def test_status_of_a_real_agent_running_then_stopped(
    collector: CollectorStub, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Starts a real agent process; status is healthy while it runs and delivers, not after SIGTERM."""
    config = write_agent(tmp_path, collector.url)
    proc = subprocess.Popen([sys.executable, "-c", RUN_AGENT, str(config)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (tmp_path / "state" / "last-delivery").exists():
            time.sleep(0.05)
        code = main(["status", "--config", str(config)])
        out = capsys.readouterr().out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert code == 0, out
    assert "state:         healthy" in out and f"running:       yes (pid {proc.pid})" in out
    assert f"collector:     {collector.url}" in out and "token age:     0d 0h" in out
    assert main(["status", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "the agent is not running" in out and "running:       no" in out


def test_stale_delivery_and_missing_token_are_unhealthy(tmp_path: Path) -> None:
    config = load_config(write_agent(tmp_path, "http://127.0.0.1:9"))
    record_delivery(config.state_dir, NOW - timedelta(minutes=10))
    config.token_file.unlink()
    status = agent_status(config, NOW)
    assert not status.healthy
    assert "no delivery since 2026-11-22T09:50:00+00:00" in status.problems
    assert f"no agent token at {config.token_file}" in status.problems
    assert status.last_delivery == NOW - timedelta(minutes=10)


def test_outbox_counts_waiting_and_rejected(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    assert outbox_counts(path) == (0, 0)  # no outbox yet
    with Outbox(path) as box:
        ids = [box.put(stamped(), check="c", check_type="t", interval=60, max_attempts=3) for _ in range(3)]
        box.reject(ids[:1], 422, "bad")
    counts = outbox_counts(path)
    assert (counts.waiting, counts.rejected) == (2, 1)


def test_outbox_counts_a_rejected_state_column(tmp_path: Path) -> None:
    """An outbox keeping refused results as a row state (not a table) is counted as well."""
    path = tmp_path / "outbox.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE outbox (id TEXT, state TEXT)")
    rows = [("a", "queued"), ("b", "rejected"), ("c", "rejected")]
    db.executemany("INSERT INTO outbox VALUES (?, ?)", rows)
    db.commit()
    db.close()
    assert outbox_counts(path) == (1, 2)
