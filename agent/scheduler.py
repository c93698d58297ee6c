"""Scheduling: every configured check on its own interval, each result straight into the outbox.

One APScheduler interval job per check, with jitter (a tenth of the interval, at most 30 s) so that
checks on many hosts do not hit shared services in lockstep, ``max_instances=1`` so a slow check never
overlaps itself, and ``coalesce=True`` so runs missed while the host slept are run once, not in a burst.
First runs are spread over the first few seconds after start. Checks never wait for the collector: a
result goes to the outbox and the sender is nudged.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from agent.outbox import Outbox
from agent.runner import CheckRunner

log = logging.getLogger(__name__)
FIRST_RUN_SPREAD = 5.0  # seconds


def jitter_for(interval: int) -> int:
    """Return the jitter in whole seconds for `interval`: a tenth of it, at most 30, 0 below 10 s."""
    return min(30, interval // 10)


class CheckScheduler:
    """Runs `runners` on their intervals in APScheduler worker threads until `shutdown`."""

    def __init__(
        self, runners: Sequence[CheckRunner], outbox: Outbox, *,
        on_result: Callable[[], None] | None = None, max_workers: int = 10,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.runners = list(runners)
        self.outbox = outbox
        self._on_result = on_result
        self._rand = rand
        self._scheduler: Any = BackgroundScheduler(
            executors={"default": {"type": "threadpool", "max_workers": max_workers}}, timezone=UTC,
        )

    def start(self) -> None:
        """Add one job per check and start the scheduler thread."""
        now = datetime.now(UTC)
        for runner in self.runners:
            interval = runner.config.interval
            first = now + timedelta(seconds=self._rand() * min(FIRST_RUN_SPREAD, interval))
            self._scheduler.add_job(
                self.run_once, "interval", args=(runner,), seconds=interval,
                jitter=jitter_for(interval) or None,
                id=runner.config.name, name=runner.config.name, next_run_time=first,
                max_instances=1, coalesce=True, misfire_grace_time=None,
            )
        self._scheduler.start()
        log.info("scheduled %d check(s)", len(self.runners))

    def run_once(self, runner: CheckRunner) -> None:
        """Run one check and queue its result; log (never raise) when the outbox cannot take it."""
        result = runner.run()
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
        """Stop scheduling; with `wait`, let running checks finish (each is bounded by its timeout)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
