"""Running one configured check with its timeout, so that no check can stop the agent.

The check runs in a daemon worker thread on a probe limited to the check's timeout; the runner waits
that long plus a short grace (the probe's command runner kills a plugin's process group at the timeout
itself, and the check then reports what it saw). Outcomes:

- the check returns a CheckResult: that result, stamped;
- it does not finish in time: UNKNOWN "check timed out after Ns". Python code cannot be killed, so the
  worker is abandoned; while it still hangs, later runs of this check are skipped and reported UNKNOWN
  instead of piling up more stuck threads;
- it raises (sys.exit included), or returns something else: UNKNOWN with the error text.

Every result is stamped with `observed_at` (UTC, when the run ended) and its duration in seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from agent.config import CheckConfig
from checks.base import Check
from checks.probe import Probe, utc_now
from checks.result import CheckResult, unknown

GRACE = 0.5  # seconds past the timeout before the runner gives up on the worker
log = logging.getLogger(__name__)


class CheckRunner:
    """Runs one configured check, each run bounded by its timeout; call `run` from one thread at a time."""

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
        self._hung: threading.Thread | None = None
        self._hung_since: datetime | None = None

    def run(self) -> CheckResult:
        """Run the check once and return its stamped result; never raises for anything the check does."""
        started = self._monotonic()
        if self._hung is not None:
            if self._hung.is_alive():
                return self._stamp(unknown(
                    f"check skipped: its run from {self._hung_since:%Y-%m-%d %H:%M:%SZ} still hangs "
                    f"(timed out after {self.config.timeout:g}s)"
                ), started)
            self._hung = self._hung_since = None
        outcome: list[CheckResult] = []
        worker = threading.Thread(
            target=self._work, args=(outcome,), name=f"check:{self.config.name}", daemon=True,
        )
        started_at = self._now()
        worker.start()
        worker.join(self.config.timeout + self._grace)
        if worker.is_alive():
            self._hung, self._hung_since = worker, started_at
            log.warning("check %r timed out after %gs", self.config.name, self.config.timeout)
            return self._stamp(unknown(f"check timed out after {self.config.timeout:g}s"), started)
        return self._stamp(outcome[0] if outcome else unknown("check ended without a result"), started)

    def _work(self, outcome: list[CheckResult]) -> None:
        try:
            result = self.check.run(self._probe)
            if not isinstance(result, CheckResult):
                result = unknown(f"check returned {type(result).__name__}, not a CheckResult")
        except (Exception, SystemExit) as exc:  # the boundary: any failure of a check is an UNKNOWN result
            log.debug("check %r raised", self.config.name, exc_info=True)
            result = unknown(f"check failed: {type(exc).__name__}: {exc}")
        outcome.append(result)

    def _stamp(self, result: CheckResult, started: float) -> CheckResult:
        return result.stamped(self._now(), max(0.0, self._monotonic() - started))
