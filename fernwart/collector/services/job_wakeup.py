"""Wake agents waiting on the job long-poll when a job is queued for their host, in any collector.

- `JobWaiters` holds the waiting long-polls of this process (an `asyncio.Event` each, no thread).
- `announce(session, host_id)` is called by whoever queues a job, inside its transaction. After the
  commit the waiters of this process are woken (`install` hooks the session factory); on PostgreSQL
  the same transaction also sends `NOTIFY fernwart_jobs, '<host id>'`, which PostgreSQL delivers only
  if the transaction commits.
- `JobListener` is the one connection per collector process that `LISTEN`s on PostgreSQL and wakes
  this process's waiters for jobs queued by another collector. After each (re)connection it wakes every
  waiter once, so a notification missed while the connection was down costs one database check, not
  a lost wake-up. No database poll per agent is needed; the long-poll's recheck is only a fallback.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

CHANNEL = "fernwart_jobs"
LISTENER_NAME = "fernwart-job-listener"  # application_name of the listening connection
_PENDING = "fernwart_job_wakeups"  # session.info key: host ids to wake after commit
MAX_REMEMBERED = 100_000  # wake-ups remembered for `woken_since`; past that a mark just rechecks once
PING_EVERY = 10.0  # seconds between liveness checks of the listening connection
log = logging.getLogger(__name__)


class JobWaiters:
    """Long-polls waiting for a job, by host id; `wake` and `wake_all` may be called from any thread.

    A poll that checks the database before it knows its host id (one transaction for both) takes a
    `mark` first and asks `woken_since` after registering: a wake-up in between is not lost.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._sequence = 0
        self._woken_at: dict[str, int] = {}  # host id -> sequence number of its last wake-up
        self._all_woken_at = 0

    def mark(self) -> int:
        """Return a mark to pass to `woken_since` later."""
        with self._lock:
            return self._sequence

    def woken_since(self, host_id: str, mark: int) -> bool:
        """Return whether `host_id` (or everyone) was woken after `mark` was taken."""
        with self._lock:
            return max(self._woken_at.get(host_id, 0), self._all_woken_at) > mark

    def add(self, host_id: str) -> asyncio.Event:
        """Register a waiter of the running event loop for `host_id`; remove it with `remove`."""
        waiter = asyncio.Event()
        with self._lock:
            self._waiting.setdefault(host_id, []).append((asyncio.get_running_loop(), waiter))
        return waiter

    def remove(self, host_id: str, waiter: asyncio.Event) -> None:
        with self._lock:
            left = [w for w in self._waiting.get(host_id, []) if w[1] is not waiter]
            if left:
                self._waiting[host_id] = left
            else:
                self._waiting.pop(host_id, None)

    def wake(self, host_id: str) -> None:
        """Wake the waiters of `host_id` (none waiting: nothing happens)."""
        with self._lock:
            self._sequence += 1
            if len(self._woken_at) >= MAX_REMEMBERED:  # bounded: forget all, as if all were woken now
                self._woken_at.clear()
                self._all_woken_at = self._sequence
            self._woken_at[host_id] = self._sequence
            waiting = list(self._waiting.get(host_id, []))
        self._set(waiting)

    def wake_all(self) -> None:
        """Wake every waiter, so each checks the database once (after a missed notification)."""
        with self._lock:
            self._sequence += 1
            self._all_woken_at = self._sequence
            waiting = [w for ws in self._waiting.values() for w in ws]
        self._set(waiting)

    def count(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._waiting.values())

    @staticmethod
    def _set(waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
        for loop, waiter in waiting:
            try:
                loop.call_soon_threadsafe(waiter.set)
            except RuntimeError:  # that loop has closed; its waiter is gone with it
                pass


def announce(session: Session, host_id: str) -> None:
    """Arrange that waiters for `host_id` are woken when `session` commits (here and, on PostgreSQL, in
    every collector); nothing is sent if it rolls back."""
    connection = session.connection()  # in a transaction, so a rollback drops the wake-up
    session.info.setdefault(_PENDING, set()).add(host_id)
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :host)"), {"channel": CHANNEL, "host": host_id})


def install(sessions: sessionmaker[Session], waiters: JobWaiters) -> None:
    """Wake `waiters` after each commit of a session from `sessions` that announced jobs."""

    @event.listens_for(sessions, "after_commit")
    def _after_commit(session: Session) -> None:
        for host_id in session.info.pop(_PENDING, ()):
            waiters.wake(host_id)

    @event.listens_for(sessions, "after_soft_rollback")  # every rollback, with or without a transaction
    def _after_rollback(session: Session, _previous: Any) -> None:
        session.info.pop(_PENDING, None)


class JobListener:
    """A thread holding one `LISTEN fernwart_jobs` connection to PostgreSQL; reconnects with backoff."""

    def __init__(self, engine: Engine, waiters: JobWaiters, *, poll: float = 1.0) -> None:
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.waiters = waiters
        self.poll = poll
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fernwart-job-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - any driver error: reconnect, the waiters recheck
                self.connected.clear()
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("job listener: %s; reconnecting in %.1fs", exc, delay)
                self._stopping.wait(delay)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                             application_name=LISTENER_NAME) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.connected.set()
            self.waiters.wake_all()  # whatever was sent while we were not listening
            checked = time.monotonic()
            while not self._stopping.is_set():
                for note in conn.notifies(timeout=self.poll):
                    self.waiters.wake(str(note.payload))
                    if self._stopping.is_set():
                        break
                if time.monotonic() - checked > PING_EVERY:  # notices a silently dead connection
                    conn.execute("SELECT 1")
                    checked = time.monotonic()
