"""Scheduling: every configured check on its own interval, each result straight into the outbox.

Checks that share an interval run together, as one *round*: one APScheduler interval job per distinct
interval, with jitter (a tenth of the interval, at most 30 s) so that the checks of many hosts do not
hit shared services in lockstep, and ``coalesce=True`` so runs missed while the host slept are run once,
not in a burst. Each check still runs on its own interval and every run gets its own result; what the
checks of one interval share is the moment they start. First rounds are spread over the first few
seconds after start. Checks never wait for the collector: a result goes to the outbox and the sender is
nudged (and lingers a few seconds, so one round's results share one report).

Why rounds and not a job per check: docs/decisions/0002-check-rounds.md.

A round runs its checks one after another in one worker thread, each watched by the shared `Watchdog`,
which delivers UNKNOWN at the check's deadline (`CheckRunner.run_watched`). So that a slow or hung check
never holds up the rest of its round, a check that is still running `HANDOFF` seconds after it started
hands the rest of the round to another worker; the slow one finishes (or times out) on its own. The
round's results go into the outbox together, in one transaction and one fsync, when its last check has
been run, or, if a check runs long, at the hand-off: a result is held in memory for at most about
`HANDOFF` seconds, like a check that is still running. A hung
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

from fernwart.agent.outbox import Outbox, Queued
from fernwart.agent.runner import CheckRunner
from fernwart.agent.watchdog import Watch, Watchdog
from fernwart.agent.workers import DaemonPool, DaemonPoolExecutor
from fernwart.checks.result import CheckResult

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
    """One run of every check in a group: a queue of runners that one or more workers drain, and the
    results they made, held until the round's end or its hand-off so that they share one fsync."""

    def __init__(self, runners: Sequence[CheckRunner], clock: Callable[[], float]) -> None:
        self._todo = deque(runners)
        self._lock = threading.Lock()
        self._clock = clock
        self._current: dict[int, float] = {}  # worker thread id -> when its current check started
        self._held: list[Queued] = []
        self.handed_off = 0  # how many times the rest of the round moved to another worker
        self.watch: Watch | None = None  # the round's live hand-off watch

    def take(self) -> CheckRunner | None:
        """Return the next runner to run in this thread, or None when no check of the round is left."""
        with self._lock:
            if not self._todo:
                self._current.pop(threading.get_ident(), None)
                return None
            self._current[threading.get_ident()] = self._clock()
            return self._todo.popleft()

    def hold(self, item: Queued) -> None:
        """Keep a result of this round until `release`."""
        with self._lock:
            self._held.append(item)

    def release(self) -> list[Queued]:
        """Return and forget the results held so far."""
        with self._lock:
            held, self._held = self._held, []
        return held

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
        self._lock = threading.Lock()
        self._stopping = False
        self._draining = 0  # threads in _drain, hung ones included
        self._rounds: set[Round] = set()  # rounds whose first worker has not finished
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
        with self._lock:
            self._rounds.add(round_)
        try:
            self._drain(round_)
        finally:
            if round_.watch is not None:
                round_.watch.cancel()  # every check has been taken and its results stored
            with self._lock:
                self._rounds.discard(round_)
        return round_

    def run_once(self, runner: CheckRunner, round_: Round | None = None) -> None:
        """Run one check in this thread and queue its result (or the watchdog's UNKNOWN at the deadline).

        Within a round, a result made in this thread is held by the round and stored with the others;
        the watchdog's UNKNOWN for a hung run is stored at once, since nobody may be left to store it.
        """
        here = threading.get_ident()

        def deliver(result: CheckResult) -> None:
            item = Queued(result, runner.config.name, runner.config.type, runner.config.interval,
                          runner.config.max_attempts)
            if round_ is not None and threading.get_ident() == here:
                round_.hold(item)
            else:
                self.queue([item])

        runner.run_watched(self.watchdog, deliver)

    def queue(self, items: Sequence[Queued]) -> None:
        """Put results into the outbox in one transaction and nudge the sender; log (never raise) when
        the outbox cannot."""
        if not items:
            return
        try:
            self.outbox.put_many(items)
        except Exception:
            log.exception("cannot queue the result(s) of check(s) %s",
                          ", ".join(repr(i.check) for i in items))
            return
        if self._on_result is not None:
            self._on_result()

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait`, let running checks end or time out and queue their results.

        A check that hangs past its timeout has its UNKNOWN queued already and is not waited for.
        """
        self._stopping = True  # rounds in progress start no further checks
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if wait:
            longest = max((r.config.timeout for r in self.runners), default=0.0)
            deadline = time.monotonic() + longest + 2.0
            # every worker still in a round is either done or stuck in a run that has timed out
            while self._draining > sum(r.hung for r in self.runners) and time.monotonic() < deadline:
                time.sleep(0.05)
        with self._lock:
            rounds = list(self._rounds)
        for round_ in rounds:  # a round whose worker hangs may still hold the results made before
            self.queue(round_.release())
        self.watchdog.stop()

    def _drain(self, round_: Round) -> None:
        """Run the round's checks one after another in this thread; whoever finds none left stores the
        results held so far (a later one finishing in another drainer stores its own on its way out)."""
        with self._lock:
            self._draining += 1
        try:
            while not self._stopping and (runner := round_.take()) is not None:
                self.run_once(runner, round_)
            self.queue(round_.release())
        finally:
            with self._lock:
                self._draining -= 1

    def _look(self, round_: Round) -> None:
        """Watchdog callback: hand the rest of a round that waits behind a long check to another worker.

        One watch per round, not one per check: it re-arms itself while the round still has checks queued.
        """
        self.queue(round_.release())  # results wait for a long check at most this long
        since = round_.stalled_since()
        if since is None:
            return  # every check of the round has been taken
        waited = self._clock() - since
        if waited >= self._handoff:
            round_.handed_off += 1
            log.debug("a check runs long; %d check(s) of its round move to another worker", round_.remaining)
            try:
                self.pool.submit(self._drain, round_)
            except RuntimeError:  # shutting down
                return
            waited = 0.0
        round_.watch = self.watchdog.watch(self._handoff - waited, lambda: self._look(round_))
