"""Scheduling: every configured check on its own interval, each result straight into the outbox.

One APScheduler interval job per check, with jitter (a tenth of the interval, at most 30 s) so that
checks on many hosts do not hit shared services in lockstep, and ``coalesce=True`` so runs missed while
the host slept are run once, not in a burst. First runs are spread over the first few seconds after
start. Checks never wait for the collector: a result goes to the outbox and the sender is nudged.

A check runs in the APScheduler worker thread itself, watched by one shared `Watchdog` that delivers
UNKNOWN at the deadline (`CheckRunner.run_watched`). ``max_instances=2``: while a timed-out run still
hangs in its worker, the next run gets a worker of its own and reports "skipped" at once; the runner
never lets two runs of a check work at the same time. Workers are daemon threads (`agent.workers`), up
to twice as many as there are checks, so hung checks can neither starve the others nor keep a stopped
agent alive.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from agent.outbox import Outbox
from agent.runner import CheckRunner
from agent.watchdog import Watchdog
from agent.workers import DaemonPoolExecutor
from checks.result import CheckResult

log = logging.getLogger(__name__)
FIRST_RUN_SPREAD = 5.0  # seconds


def jitter_for(interval: int) -> int:
    """Return the jitter in whole seconds for `interval`: a tenth of it, at most 30, 0 below 10 s."""
    return min(30, interval // 10)


class CheckScheduler:
    """Runs `runners` on their intervals in APScheduler worker threads until `shutdown`."""

    def __init__(
        self, runners: Sequence[CheckRunner], outbox: Outbox, *,
        on_result: Callable[[], None] | None = None, max_workers: int | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.runners = list(runners)
        self.outbox = outbox
        self._on_result = on_result
        self._rand = rand
        self.watchdog = Watchdog()
        # each check holds at most one worker for a hung run and one more, briefly, to report it skipped
        workers = max_workers if max_workers is not None else 2 * len(self.runners) + 1
        self._scheduler: Any = BackgroundScheduler(
            executors={"default": DaemonPoolExecutor(workers)}, timezone=UTC,
        )

    def start(self) -> None:
        """Add one job per check and start the scheduler and watchdog threads."""
        self.watchdog.start()
        now = datetime.now(UTC)
        for runner in self.runners:
            interval = runner.config.interval
            first = now + timedelta(seconds=self._rand() * min(FIRST_RUN_SPREAD, interval))
            self._scheduler.add_job(
                self.run_once, "interval", args=(runner,), seconds=interval,
                jitter=jitter_for(interval) or None,
                id=runner.config.name, name=runner.config.name, next_run_time=first,
                max_instances=2, coalesce=True, misfire_grace_time=None,
            )
        self._scheduler.start()
        log.info("scheduled %d check(s)", len(self.runners))

    def run_once(self, runner: CheckRunner) -> None:
        """Run one check in this thread and queue its result (or the watchdog's UNKNOWN at the deadline)."""
        runner.run_watched(self.watchdog, lambda result: self.queue(runner, result))

    def queue(self, runner: CheckRunner, result: CheckResult) -> None:
        """Put `result` into the outbox and nudge the sender; log (never raise) when the outbox cannot."""
        try:
            self.outbox.put(
                result, check=runner.config.name, check_type=runner.config.type,
                interval=runner.config.interval, max_attempts=runner.config.max_attempts,
            )
        except Exception:
            log.exception("cannot queue the result of check %r", runner.config.name)
            return
        if self._on_result is not None:
            self._on_result()

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait`, let running checks end or time out and queue their results.

        A check that hangs past its timeout has its UNKNOWN queued already and is not waited for.
        """
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if wait:
            longest = max((r.config.timeout for r in self.runners), default=0.0)
            deadline = time.monotonic() + longest + 2.0
            while any(r.busy for r in self.runners) and time.monotonic() < deadline:
                time.sleep(0.05)
        self.watchdog.stop()
