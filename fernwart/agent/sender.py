"""The sender: drains the outbox to the collector in batches and keeps the host's heartbeat going.

Each `step` does one round and says how long to wait before the next:

- results waiting: post the oldest `batch_size` to ``/api/v1/reports``; delete them only after a 2xx.
  A 413 splits the batch in halves (and lowers the batch size for a while); any other permanent refusal
  of a batch of several is split too, so one bad result cannot take its neighbours down with it; a single
  refused result is moved to the outbox's ``rejected`` table with the collector's reason;
- nothing waiting and nothing posted for `heartbeat_interval` seconds: post a heartbeat (no results);
- collector away (connection errors, timeouts, 5xx, 408): keep everything and wait with exponential
  backoff and full jitter, ``uniform(0, min(cap, base * 2**n))``;
- 429 (or 503) with ``Retry-After``: wait what it asks (at least `backoff_base`, at most RETRY_AFTER_MAX
  seconds), then send the same batch again; without the header it is the backoff above;
- collector refusing our token (401/403, a revoked or foreign token): stop sending results, keep every
  one of them in the outbox, log one error saying what to do, and only look again every `backoff_cap`
  seconds (a token is read at start, so a re-enrolled agent is restarted anyway);
- collector saying the host is revoked (410), or bound to another agent instance (409
  ``instance_conflict``, a cloned VM using this token): log one error, stop sending, keep the outbox.

A fresh result does not go out alone at once: the sender lingers a few seconds (`linger`) so that the
results of checks that ran close together share one report; each request costs the host CPU time.

Results carry their own ``observed_at`` from the outbox, so a replay after an outage keeps its history.
Clock, wall time and randomness are injected so that timing is tested without sleeping.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime

from fernwart.agent.outbox import Outbox, OutboxEntry
from fernwart.agent.transport import (
    AgentRevoked,
    CollectorLink,
    CollectorUnavailable,
    CredentialsRefused,
    InstanceRefused,
    RequestRejected,
)
from fernwart.agent.wire import report_body
from fernwart.checks.probe import utc_now

REPORTS_PATH = "/api/v1/reports"
GROW_AFTER = 10  # rounds without a 413 before a lowered batch size doubles again
RETRY_AFTER_MAX = 600.0  # seconds: a longer Retry-After (or an HTTP date far ahead) is cut to this
log = logging.getLogger(__name__)


class Sender:
    """Moves results from the outbox to the collector; `run` it in a thread, `stop` it from another."""

    def __init__(
        self, outbox: Outbox, transport: CollectorLink, *, host_id: str, heartbeat_interval: float,
        batch_size: int = 200, clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now, rand: Callable[[], float] = random.random,
        backoff_base: float = 1.0, backoff_cap: float = 60.0, linger: float = 0.0,
        delivered: Callable[[datetime], None] | None = None,
        before_round: Callable[[], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.host_id = host_id
        self.heartbeat_interval = heartbeat_interval
        self.batch_size = batch_size
        self._clock = clock
        self._now = now
        self._rand = rand
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self.linger = linger
        self._before_round = before_round  # token reload and rotation (agent.tokens)
        self.revoked = False  # set once the collector says this host was revoked; the loop then ends
        self.conflict: InstanceRefused | None = None  # set once another instance holds the host; ends too
        self._delivered = delivered  # told the wall time of every 2xx (`fernwart-agent status` reads it)
        self._limit = batch_size  # lowered by a 413, grown back slowly
        self._clean_rounds = 0
        self._last_post: float | None = None  # clock() of the last 2xx, results or heartbeat
        self.failures = 0  # consecutive failed rounds; > 0 means we are backing off
        self.refused: CredentialsRefused | None = None  # set while the collector refuses our token
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> float:
        """Do one round of sending; return the seconds to wait before the next round.

        Never raises for collector trouble: CollectorUnavailable turns into a backoff delay (or the
        collector's Retry-After), CredentialsRefused into the refused state with its slow look-again.
        """
        posted = False
        if self._before_round is not None:
            self._before_round()
        try:
            batch = self.outbox.peek(self._limit)
            if batch:
                limit = self._limit
                self._deliver(batch)
                self._last_post, posted = self._clock(), True
                self._grow_limit(split=self._limit < limit)
            elif self._heartbeat_due():
                self._post([])
                self._last_post, posted = self._clock(), True
        except CredentialsRefused as exc:
            return self._refused(exc)
        except CollectorUnavailable as exc:
            if exc.retry_after is not None:
                return self._retry_after(exc, exc.retry_after)
            return self._backoff(exc)
        except AgentRevoked as exc:
            log.error("the collector revoked this host (%s); stopped sending, %d result(s) kept in the "
                      "outbox; enroll again to resume", exc.error, self.outbox.count())
            self.revoked = True
            self._stopping.set()
            return 0.0
        except InstanceRefused as exc:
            log.error("the collector refuses this agent instance (%s); stopped sending, %d result(s) kept in"
                      " the outbox. If this machine is a clone, enroll it as a host of its own; if it is a"
                      " reinstall of the host, ask a technician for `fernwart-collector host reset-instance`"
                      " and restart the agent", exc.error, self.outbox.count())
            self.conflict = exc
            self._stopping.set()
            return 0.0
        except RequestRejected as exc:  # only a heartbeat gets here: the envelope itself is refused
            log.error("collector refused our heartbeat (HTTP %d: %s); check host_id in the config",
                      exc.status, exc.error)
            return self._backoff(exc)
        if self._delivered is not None and posted:
            self._delivered(self._now())
        if self.refused is not None:
            log.info("collector accepts our credentials again; sending resumed")
            self.refused = None
        elif self.failures:
            log.info("collector reachable again after %d failed attempt(s)", self.failures)
        self.failures = 0
        if batch and self.outbox.count():
            return 0.0
        return self._until_heartbeat()

    def run(self) -> None:
        """Call `step` until `stop`; `notify` ends a wait early, except a backoff wait.

        After a `notify` the loop lingers `linger` seconds before sending, so that the results of checks
        that ran close together share one report instead of costing a request each.
        """
        while not self._stopping.is_set():
            try:
                delay = self.step()
            except Exception:  # a broken outbox must not kill the thread; the rows stay where they are
                log.exception("sender round failed")
                self.failures += 1
                delay = self._backoff_delay()
            if self.failures:
                self._stopping.wait(delay)
            else:
                woken = self._wake.wait(delay)
                if woken and delay > 0 and self.linger > 0:
                    self._stopping.wait(self.linger)
                # after the linger: the nudges of results that arrived meanwhile are answered by the
                # coming step, and must not wake the loop once more for an empty outbox
                self._wake.clear()

    def notify(self) -> None:
        """Tell the sender a result was queued, so it sends without waiting for the heartbeat."""
        self._wake.set()

    def start(self) -> None:
        """Run the sender in a background thread."""
        self._thread = threading.Thread(target=self.run, name="fernwart-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to end and wait for its thread; a request in flight ends by its own timeout."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _deliver(self, entries: list[OutboxEntry]) -> None:
        """Post `entries`, splitting on permanent refusals.

        Raise CollectorUnavailable or CredentialsRefused to back off.
        """
        try:
            self._post(entries)
        except RequestRejected as exc:
            if len(entries) == 1:
                self.outbox.reject([entries[0].id], exc.status, exc.error)
                log.error("collector refused result %s of check %r for good (HTTP %d: %s); set aside as"
                          " rejected (%d in all; see `fernwart-agent outbox list --rejected`)",
                          entries[0].id, entries[0].check, exc.status, exc.error,
                          self.outbox.rejected_count())
                return
            if exc.status == 413:
                self._limit = max(1, len(entries) // 2)
            log.warning("collector refused a batch of %d (HTTP %d: %s); splitting it",
                        len(entries), exc.status, exc.error)
            middle = len(entries) // 2
            self._deliver(entries[:middle])
            self._deliver(entries[middle:])
            return
        self.outbox.delete(e.id for e in entries)

    def _post(self, entries: list[OutboxEntry]) -> None:
        results = [e.payload for e in entries]
        body = report_body(self.host_id, self._now(), int(self.heartbeat_interval), results)
        answer = self.transport.post_json(REPORTS_PATH, body)
        if entries:
            log.debug("sent %d result(s): %s", len(entries), answer)

    def _grow_limit(self, split: bool) -> None:
        """Double a batch size lowered by a 413 again after GROW_AFTER rounds without one."""
        self._clean_rounds = 0 if split else self._clean_rounds + 1
        if self._clean_rounds >= GROW_AFTER and self._limit < self.batch_size:
            self._limit = min(self.batch_size, self._limit * 2)
            self._clean_rounds = 0

    def _heartbeat_due(self) -> bool:
        return self._last_post is None or self._clock() - self._last_post >= self.heartbeat_interval

    def _until_heartbeat(self) -> float:
        if self._last_post is None:
            return 0.0
        return max(0.0, self._last_post + self.heartbeat_interval - self._clock())

    def _backoff(self, exc: Exception) -> float:
        self.failures += 1
        delay = self._backoff_delay()
        log.warning("cannot report to the collector (%s); %d result(s) kept, retrying in %.1fs",
                    exc, self.outbox.count(), delay)
        return delay

    def _retry_after(self, exc: CollectorUnavailable, asked: float) -> float:
        self.failures += 1
        delay = min(RETRY_AFTER_MAX, max(self._backoff_base, asked))
        log.warning("collector asks us to wait (HTTP %s); %d result(s) kept, sending again in %.1fs",
                    exc.status, self.outbox.count(), delay)
        return delay

    def _refused(self, exc: CredentialsRefused) -> float:
        """Enter (or stay in) the refused state: one error line on entry, then a quiet look every cap."""
        self.failures += 1
        if self.refused is None:
            log.error("collector refused our credentials (HTTP %d: %s); sending stopped, %d result(s) kept"
                      " in the outbox; enroll this host again (fernwart-agent enroll --force) and restart"
                      " the agent. Looking again every %.0fs.",
                      exc.status, exc.error, self.outbox.count(), self._backoff_cap)
        else:
            log.debug("collector still refuses our credentials (HTTP %d)", exc.status)
        self.refused = exc
        return self._backoff_cap

    def _backoff_delay(self) -> float:
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** min(self.failures - 1, 32))
        return self._rand() * ceiling
