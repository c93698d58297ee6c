from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from fernwart.agent.config import parse_config
from fernwart.agent.outbox import Outbox, Queued
from fernwart.agent.runner import CheckRunner
from fernwart.agent.scheduler import CheckScheduler, jitter_for, rounds_of
from fernwart.checks.probe import Probe
from tests.agent import fakes

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


def test_checks_of_one_interval_share_a_round_in_configuration_order(tmp_path: Path) -> None:
    groups = rounds_of(runners(tmp_path))
    names = {interval: [r.config.name for r in group] for interval, group in groups.items()}
    assert names == {1: ["fast", "broken"], 86400: ["daily"]}


class CountingOutbox(Outbox):
    """A real outbox that counts its write transactions."""

    transactions = 0

    def put_many(self, items: Sequence[Queued]) -> list[str]:
        self.transactions += 1
        return super().put_many(items)


def test_a_round_of_fast_checks_runs_back_to_back_in_one_thread_and_one_transaction(tmp_path: Path) -> None:
    threads: list[int] = []
    outbox = CountingOutbox(tmp_path / "outbox.sqlite")
    scheduler = CheckScheduler(
        runners(tmp_path), outbox, on_result=lambda: threads.append(threading.get_ident()),
    )
    scheduler.watchdog.start()
    try:
        round_ = scheduler.run_round(scheduler.runners)
    finally:
        scheduler.watchdog.stop()
    assert [e.check for e in outbox.peek(10)] == ["fast", "broken", "daily"]
    assert outbox.transactions == 1 and threads == [threading.get_ident()]  # one fsync, one nudge
    assert round_.handed_off == 0 and round_.remaining == 0
    outbox.close()


SLOW_FIRST = """
collector: http://127.0.0.1:9
host_id: h
checks:
  - {name: stuck, type: t_hang, interval: 3600, timeout: 20}
  - {name: next, type: t_value, interval: 3600, value: 5}
  - {name: last, type: t_value, interval: 3600, value: 5}
"""

HANG_LAST = """
collector: http://127.0.0.1:9
host_id: h
checks:
  - {name: first, type: t_value, interval: 3600, value: 5}
  - {name: second, type: t_value, interval: 3600, value: 5}
  - {name: stuck, type: t_hang, interval: 3600, timeout: 20}
"""


def started(text: str, tmp_path: Path, outbox: Outbox, handoff: float = 60) -> CheckScheduler:
    """Start a real scheduler on `text` (first rounds at once) and wait for a check to hang."""
    probe = Probe(state_dir=tmp_path, psutil=None, http=None)
    scheduler = CheckScheduler(
        [CheckRunner(c, probe) for c in parse_config(text, tmp_path / "a.yaml").checks], outbox,
        rand=lambda: 0.0, handoff=handoff,
    )
    scheduler.start()
    deadline = time.monotonic() + 10
    while not any(r.busy for r in scheduler.runners) and time.monotonic() < deadline:
        time.sleep(0.01)
    return scheduler


@pytest.mark.parametrize(
    ("text", "others"),
    [
        # the checks queued behind a long one do not wait for it
        (SLOW_FIRST, ["last", "next"]),
        # the round's own worker hangs in its last check: the hand-off watch stores what was held
        (HANG_LAST, ["first", "second"]),
    ],
    ids=["queued-checks-move-on", "held-results-are-stored"],
)
def test_a_long_check_does_not_hold_up_its_round(
    text: str, others: list[str], tmp_path: Path, outbox: Outbox, hang_release: None,
) -> None:
    scheduler = started(text, tmp_path, outbox, handoff=0.2)
    try:
        deadline = time.monotonic() + 10
        while outbox.count() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(e.check for e in outbox.peek(10)) == others  # stuck still hangs
        assert next(r for r in scheduler.runners if r.config.name == "stuck").busy
    finally:
        fakes.RELEASE.set()
        scheduler.shutdown()
    assert sorted(e.check for e in outbox.peek(10)) == [*others, "stuck"]


def test_shutdown_stores_what_a_hung_round_held(tmp_path: Path, outbox: Outbox, hang_release: None) -> None:
    scheduler = started(HANG_LAST.replace("timeout: 20", "timeout: 0.5"), tmp_path, outbox)
    assert outbox.count() == 0  # first and second are held by the round, stuck hangs
    scheduler.shutdown()  # waits for stuck to time out, then stores the round's results
    summaries = {e.check: e.payload["summary"] for e in outbox.peek(10)}
    assert summaries == {"first": "value is 5", "second": "value is 5", "stuck": "check timed out after 0.5s"}


def test_a_stopping_agent_starts_no_further_check_of_a_round(
    tmp_path: Path, outbox: Outbox, hang_release: None,
) -> None:
    scheduler = started(SLOW_FIRST.replace("timeout: 20", "timeout: 0.5"), tmp_path, outbox)
    scheduler.shutdown()
    fakes.RELEASE.set()  # the hung worker returns now; it must not go on to "next" and "last"
    time.sleep(0.3)
    assert [e.check for e in outbox.peek(10)] == ["stuck"]


def test_checks_run_on_their_intervals_into_the_outbox(tmp_path: Path, outbox: Outbox) -> None:
    """Starts a real BackgroundScheduler; the collector is nowhere, results still pile up in the outbox."""
    nudges: list[int] = []
    scheduler = CheckScheduler(
        runners(tmp_path), outbox, on_result=lambda: nudges.append(1), rand=lambda: 0.0,
    )
    scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler._scheduler.get_jobs()}
        assert set(jobs) == {"every-1s", "every-86400s"}  # one round per interval
        assert jobs["every-1s"].max_instances == 3 and jobs["every-86400s"].max_instances == 2
        assert all(job.coalesce for job in jobs.values())
        assert jobs["every-86400s"].trigger.jitter == 30 and jobs["every-1s"].trigger.jitter is None
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
    assert 1 <= len(nudges) < outbox.count()  # a nudge per stored round, not per result


def test_a_full_disk_does_not_kill_the_job(
    tmp_path: Path, outbox: Outbox, caplog: pytest.LogCaptureFixture,
) -> None:
    outbox.close()  # every put now fails, as it would on a broken disk
    scheduler = CheckScheduler(runners(tmp_path), outbox)
    scheduler.run_once(scheduler.runners[0])
    assert "cannot queue the result(s) of check(s) 'fast'" in caplog.text


HUNG = """
collector: http://127.0.0.1:9
host_id: h
checks:
  - {name: stuck, type: t_hang, interval: 1, timeout: 0.3}
  - {name: fast, type: t_value, interval: 1, value: 5}
"""


def test_a_hung_check_is_unknown_skipped_and_never_blocks_the_others_or_the_shutdown(
    tmp_path: Path, outbox: Outbox, hang_release: None,
) -> None:
    """Starts a real BackgroundScheduler with one worker per check only: the hung one must not starve."""
    probe = Probe(state_dir=tmp_path, psutil=None, http=None)
    scheduler = CheckScheduler(
        [CheckRunner(c, probe) for c in parse_config(HUNG, tmp_path / "a.yaml").checks], outbox,
        rand=lambda: 0.0,
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            summaries = [e.payload["summary"] for e in outbox.peek(100) if e.check == "stuck"]
            if len(summaries) >= 2 and sum(e.check == "fast" for e in outbox.peek(100)) >= 3:
                break
            time.sleep(0.05)
    finally:
        started = time.monotonic()
        scheduler.shutdown()
        assert time.monotonic() - started < 3  # the hung worker is not waited for
    assert summaries[0] == "check timed out after 0.3s"
    assert summaries[1].startswith("check skipped: its run from ") and "still hangs" in summaries[1]
    fast = [e.payload for e in outbox.peek(100) if e.check == "fast"]
    assert len(fast) >= 3 and {r["status"] for r in fast} == {0}
