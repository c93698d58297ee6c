"""Scheduling: every configured check on its own interval, each result straight into the outbox.

Checks that share an interval run together, as one *round*: one APScheduler interval job per distinct
interval, with jitter (a tenth of the interval, at most 30 s) so that the checks of many hosts do not
hit shared services in lockstep, and ``coalesce=True`` so runs missed while the host slept are run once,
not in a burst. Each check still runs on its own interval and every run gets its own result; what the
checks of one interval share is the moment they start. First rounds are spread over the first few
seconds after start. Checks never wait for the collector: a result goes to the outbox and the sender is
nudged (and lingers a few seconds, so one round's results share one report).

Why rounds and not a job per check: on an idle host every wake-up is paid for with cold caches, so the
same twenty checks cost about 2.5 times the CPU when each wakes the agent on its own jitter as when they
run back to back (measured with ``bench/agent_footprint.py``; per-check jitter within one host spreads
nothing across the fleet anyway, the round's jitter does that).

A round runs its checks one after another in one worker thread, each watched by the shared `Watchdog`,
which delivers UNKNOWN at the check's deadline (`CheckRunner.run_watched`). So that a slow or hung check
never holds up the rest of its round, a check that is still running `HANDOFF` seconds after it started
hands the rest of the round to another worker; the slow one finishes (or times out) on its own. A hung
check keeps its worker; later runs of it report "skipped" at once (the runner never lets two runs of a
check work at the same time), so at most one worker per check can ever hang, and a round job may have
that many instances running and still start. Workers are daemon threads (`agent.workers`), up to twice
as many as there are checks, so hung checks can neither starve the others nor keep a stopped agent alive.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from agent.outbox import Outbox
from agent.runner import CheckRunner
from agent.watchdog import Watch, Watchdog
from agent.workers import DaemonPool, DaemonPoolExecutor
from checks.result import CheckResult

log = logging.getLogger(__name__)
FIRST_RUN_SPREAD = 5.0  # seconds
HANDOFF = 1.0  # seconds a check may run before the rest of its round moves on to another worker


def jitter_for(interval: int) -> int:
    """Return the jitter in whole seconds for `interval`: a tenth of it, at most 30, 0 below 10 s."""
    return min(30, interval // 10)


def rounds_of(runners: Sequence[CheckRunner]) -> dict[int, list[CheckRunner]]:
    """Group `runners` by interval, in configuration order within each group."""
    groups: dict[int, list[CheckRunner]] = {}
    for runner in runners:
        groups.setdefault(runner.config.interval, []).append(runner)
    return groups


class Round:
    """One run of every check in a group: a queue of runners that one or more workers drain."""

    def __init__(self, runners: Sequence[CheckRunner], clock: Callable[[], float]) -> None:
        self._todo = deque(runners)
        self._lock = threading.Lock()
        self._clock = clock
        self._current: dict[int, float] = {}  # worker thread id -> when its current check started
        self.handed_off = 0  # how many times the rest of the round moved to another worker
        self.watch: Watch | None = None  # the round's live hand-off watch

    def take(self) -> CheckRunner | None:
        """Return the next runner to run in this thread, or None when the round is done."""
        with self._lock:
            if not self._todo:
                self._current.pop(threading.get_ident(), None)
                return None
            self._current[threading.get_ident()] = self._clock()
            return self._todo.popleft()

    def stalled_since(self) -> float | None:
        """Return when the oldest check that still holds up queued ones started (None: nothing waits)."""
        with self._lock:
            if not self._todo or not self._current:
                return None
            return max(self._current.values())  # the newest drainer: any faster one would take the queue

    @property
    def remaining(self) -> int:
        """Return how many checks of this round have not started yet."""
        with self._lock:
            return len(self._todo)


class CheckScheduler:
    """Runs `runners` on their intervals, a round per interval, until `shutdown`."""

    def __init__(
        self, runners: Sequence[CheckRunner], outbox: Outbox, *,
        on_result: Callable[[], None] | None = None, max_workers: int | None = None,
        rand: Callable[[], float] = random.random, handoff: float = HANDOFF,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runners = list(runners)
        self.outbox = outbox
        self._on_result = on_result
        self._rand = rand
        self._handoff = handoff
        self._clock = clock
        self.watchdog = Watchdog(clock=clock)
        # each check holds at most one worker for a hung run and one more, briefly, to report it skipped
        workers = max_workers if max_workers is not None else 2 * len(self.runners) + 1
        self.pool = DaemonPool(workers)
        self._scheduler: Any = BackgroundScheduler(
            executors={"default": DaemonPoolExecutor(workers, self.pool)}, timezone=UTC,
        )

    def start(self) -> None:
        """Add one job per interval and start the scheduler and watchdog threads."""
        self.watchdog.start()
        now = datetime.now(UTC)
        groups = rounds_of(self.runners)
        for interval, group in groups.items():
            first = now + timedelta(seconds=self._rand() * min(FIRST_RUN_SPREAD, interval))
            self._scheduler.add_job(
                self.run_round, "interval", args=(group,), seconds=interval,
                jitter=jitter_for(interval) or None, id=f"every-{interval}s",
                name=f"{len(group)} check(s) every {interval}s", next_run_time=first,
                # a hung check keeps the instance that ran it; it can do so once (later runs skip it)
                max_instances=len(group) + 1, coalesce=True, misfire_grace_time=None,
            )
        self._scheduler.start()
        log.info("scheduled %d check(s) in %d round(s)", len(self.runners), len(groups))

    def run_round(self, runners: Sequence[CheckRunner]) -> Round:
        """Run one round of `runners`, starting in this thread; return it (for tests)."""
        round_ = Round(runners, self._clock)
        round_.watch = self.watchdog.watch(self._handoff, lambda: self._look(round_))
        try:
            self._drain(round_)
        finally:
            if round_.watch is not None:
                round_.watch.cancel()  # the queue is empty: nothing is left to hand on
        return round_

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

    def _drain(self, round_: Round) -> None:
        while (runner := round_.take()) is not None:
            self.run_once(runner)

    def _look(self, round_: Round) -> None:
        """Watchdog callback: hand the rest of a round that waits behind a long check to another worker.

        One watch per round, not one per check: it re-arms itself while the round still has checks queued.
        """
        since = round_.stalled_since()
        if since is None:
            return  # every check of the round has been taken
        waited = self._clock() - since
        if waited >= self._handoff:
            round_.handed_off += 1
            log.info("a check runs long; %d check(s) of its round move to another worker", round_.remaining)
            try:
                self.pool.submit(self._drain, round_)
            except RuntimeError:  # shutting down
                return
            waited = 0.0
        round_.watch = self.watchdog.watch(self._handoff - waited, lambda: self._look(round_))
