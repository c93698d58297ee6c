from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.outbox import Outbox
from agent.runner import CheckRunner
from agent.scheduler import CheckScheduler, jitter_for
from checks.probe import Probe

CONFIG = """
collector: http://127.0.0.1:9
host_id: h
checks:
  - {name: fast, type: t_value, interval: 1, value: 95}
  - {name: broken, type: t_raise, interval: 1}
  - {name: daily, type: t_value, interval: 86400}
"""


def runners(tmp_path: Path) -> list[CheckRunner]:
    probe = Probe(state_dir=tmp_path, psutil=None, http=None)
    return [CheckRunner(c, probe) for c in parse_config(CONFIG, tmp_path / "a.yaml").checks]


def test_jitter_is_a_tenth_capped_at_30() -> None:
    assert [jitter_for(i) for i in (1, 9, 10, 60, 300, 86400)] == [0, 0, 1, 6, 30, 30]


def test_checks_run_on_their_intervals_into_the_outbox(tmp_path: Path, outbox: Outbox) -> None:
    """Starts a real BackgroundScheduler; the collector is nowhere, results still pile up in the outbox."""
    nudges: list[int] = []
    scheduler = CheckScheduler(
        runners(tmp_path), outbox, on_result=lambda: nudges.append(1), rand=lambda: 0.0,
    )
    scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler._scheduler.get_jobs()}
        assert set(jobs) == {"fast", "broken", "daily"}
        assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
        assert jobs["daily"].trigger.jitter == 30 and jobs["fast"].trigger.jitter is None
        deadline = time.monotonic() + 10
        while outbox.count() < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown()
    by_check: dict[str, list[int]] = {}
    for entry in outbox.peek(100):
        by_check.setdefault(entry.check, []).append(entry.payload["status"])
    assert by_check["fast"][:2] == [2, 2] and by_check["broken"][:2] == [3, 3]
    assert len(by_check["daily"]) == 1
    assert len(nudges) == outbox.count()


def test_a_full_disk_does_not_kill_the_job(
    tmp_path: Path, outbox: Outbox, caplog: pytest.LogCaptureFixture,
) -> None:
    outbox.close()  # every put now fails, as it would on a broken disk
    scheduler = CheckScheduler(runners(tmp_path), outbox)
    scheduler.run_once(scheduler.runners[0])
    assert "cannot queue the result of check 'fast'" in caplog.text
