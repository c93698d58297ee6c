"""Running one configured check with its timeout, so that no check can stop the agent.

Two ways to run, with the same outcomes:

- `run_watched` (the agent's scheduler): the check runs in the calling worker thread and a shared
  `Watchdog` calls back at the deadline, so a run costs no thread of its own. Exactly one result is
  delivered per run: the check's, or UNKNOWN from the watchdog's thread at the deadline (a result the
  hung check returns later is dropped);
- `run` (one-off runs, ``fernwart-agent check``): the check runs in a new daemon thread and `run` waits.

Either way the check gets a probe limited to its timeout, and the deadline is that timeout plus a short
grace (the probe's command runner kills a plugin's process group at the timeout itself, and the check
then reports what it saw). Outcomes:

- the check returns a CheckResult: that result, stamped;
- it does not finish in time: UNKNOWN "check timed out after Ns". Python code cannot be killed, so the
  thread is abandoned; while it still hangs, later runs of this check are skipped and reported UNKNOWN
  instead of piling up more stuck threads (a run due while the previous one is still within its
  deadline is skipped without a result, as APScheduler's max_instances=1 would);
- it raises (sys.exit included), or returns something else: UNKNOWN with the error text.

Every result is stamped with `observed_at` (UTC, when the run ended) and its duration in seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from fernwart.agent.config import CheckConfig
from fernwart.agent.watchdog import Watchdog
from fernwart.checks.base import Check
from fernwart.checks.probe import Probe, utc_now
from fernwart.checks.result import CheckResult, unknown

GRACE = 0.5  # seconds past the timeout before the runner gives up on the worker
log = logging.getLogger(__name__)


class CheckRunner:
    """Runs one configured check, each run bounded by its timeout; `run` from one thread at a time,
    `run_watched` from any number (a run due while one is in progress is skipped)."""

    def __init__(
        self, config: CheckConfig, probe: Probe, *, check: Check | None = None,
        now: Callable[[], datetime] = utc_now, monotonic: Callable[[], float] = time.monotonic,
        grace: float = GRACE,
    ) -> None:
        self.config = config
        self.check = check if check is not None else config.make()
        self._probe = probe.with_timeout(config.timeout)
        self._now = now
        self._monotonic = monotonic
        self._grace = grace
        self._hung: tuple[threading.Thread, datetime] | None = None  # run()'s abandoned thread, since
        self._lock = threading.Lock()  # guards _current between the worker and the watchdog thread
        self._current: _Run | None = None

    @property
    def busy(self) -> bool:
        """Return True while a watched run is within its deadline (not yet ended or timed out)."""
        current = self._current
        return current is not None and not current.timed_out

    @property
    def hung(self) -> bool:
        """Return True while a watched run that timed out still holds its thread."""
        current = self._current
        return current is not None and current.timed_out

    def run_watched(self, watchdog: Watchdog, deliver: Callable[[CheckResult], None]) -> None:
        """Run the check in this thread; `deliver` its stamped result, or UNKNOWN at the deadline.

        `deliver` is called at most once per call, from this thread or the watchdog's; never with a
        lock held. Never raises for anything the check does.
        """
        started = self._monotonic()
        with self._lock:
            previous = self._current
            if previous is None:
                run = self._current = _Run(self._now(), started)
        if previous is not None:
            if previous.timed_out:
                deliver(self._stamp(self._skipped(previous.started_at), started))
            else:
                log.info("check %r is still running; this run is skipped", self.config.name)
            return
        watch = watchdog.watch(self.config.timeout + self._grace, lambda: self._time_out(run, deliver))
        try:
            result = self._execute()
        finally:
            watch.cancel()
            with self._lock:
                self._current = None  # ended, in time or not: the next run may start
                late = run.timed_out
                run.ended = True
        if late:
            log.info("check %r ended after its timeout; its result was dropped", self.config.name)
            return
        deliver(self._stamp(result, started))

    def _time_out(self, run: _Run, deliver: Callable[[CheckResult], None]) -> None:
        with self._lock:
            if run.ended:
                return
            run.timed_out = True
        log.warning("check %r timed out after %gs", self.config.name, self.config.timeout)
        deliver(self._stamp(unknown(f"check timed out after {self.config.timeout:g}s"), run.started))

    def run(self) -> CheckResult:
        """Run the check once and return its stamped result; never raises for anything the check does."""
        started = self._monotonic()
        if self._hung is not None:
            hung, since = self._hung
            if hung.is_alive():
                return self._stamp(self._skipped(since), started)
            self._hung = None
        outcome: list[CheckResult] = []
        worker = threading.Thread(
            target=self._work, args=(outcome,), name=f"check:{self.config.name}", daemon=True,
        )
        started_at = self._now()
        worker.start()
        worker.join(self.config.timeout + self._grace)
        if worker.is_alive():
            self._hung = worker, started_at
            log.warning("check %r timed out after %gs", self.config.name, self.config.timeout)
            return self._stamp(unknown(f"check timed out after {self.config.timeout:g}s"), started)
        return self._stamp(outcome[0] if outcome else unknown("check ended without a result"), started)

    def _work(self, outcome: list[CheckResult]) -> None:
        outcome.append(self._execute())

    def _execute(self) -> CheckResult:
        try:
            result = self.check.run(self._probe)
            if not isinstance(result, CheckResult):
                result = unknown(f"check returned {type(result).__name__}, not a CheckResult")
        except (Exception, SystemExit) as exc:  # the boundary: any failure of a check is an UNKNOWN result
            log.debug("check %r raised", self.config.name, exc_info=True)
            result = unknown(f"check failed: {type(exc).__name__}: {exc}")
        return result

    def _skipped(self, hung_since: datetime) -> CheckResult:
        return unknown(
            f"check skipped: its run from {hung_since:%Y-%m-%d %H:%M:%SZ} still hangs "
            f"(timed out after {self.config.timeout:g}s)"
        )

    def _stamp(self, result: CheckResult, started: float) -> CheckResult:
        return result.stamped(self._now(), max(0.0, self._monotonic() - started))


class _Run:
    """One watched run; `ended` and `timed_out` change under the runner's lock, whichever comes first."""

    __slots__ = ("started_at", "started", "ended", "timed_out")

    def __init__(self, started_at: datetime, started: float) -> None:
        self.started_at = started_at  # wall clock, for the skip message
        self.started = started  # monotonic, for the duration
        self.ended = False
        self.timed_out = False
