"""One thread that watches every running check for its deadline, instead of a thread per run.

A check runs in the scheduler's worker thread; before it starts, the runner asks the watchdog to call
`on_timeout` at the run's deadline, and cancels that when the run ends. The watchdog only calls back: the
runner decides (compare-and-set) whether the run had ended first or now counts as timed out. Python code
cannot be killed, so a hung run keeps its worker thread until it returns by itself.

The thread sleeps until the earliest deadline of a live watch and is woken only when a new watch is due
earlier than that; a watch cancelled in the meantime costs at most one early wake-up.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Watch:
    """One watched run; `cancel` it when the run ends (cancelling twice, or after it fired, is harmless)."""

    __slots__ = ("deadline", "on_timeout", "cancelled")

    def __init__(self, deadline: float, on_timeout: Callable[[], None]) -> None:
        self.deadline = deadline
        self.on_timeout = on_timeout
        self.cancelled = False

    def cancel(self) -> None:
        """Stop watching; `on_timeout` will not be called unless it is being called already."""
        self.cancelled = True


class Watchdog:
    """Calls each watch's `on_timeout` in its own thread once `clock()` passes the watch's deadline."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()  # ties on the deadline never compare Watch objects
        self._wake_at = float("inf")  # when the thread will look next; inf while it sleeps for good
        self._stopping = False
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float, on_timeout: Callable[[], None]) -> Watch:
        """Call `on_timeout` in `seconds` unless the returned Watch is cancelled first."""
        entry = Watch(self._clock() + seconds, on_timeout)
        with self._cond:
            heapq.heappush(self._heap, (entry.deadline, next(self._order), entry))
            if entry.deadline < self._wake_at:
                self._cond.notify()
        return entry

    def start(self) -> None:
        """Start the watchdog thread (a daemon: a hung check never keeps the process alive)."""
        self._thread = threading.Thread(target=self._loop, name="fernwart-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread; watches still pending are dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                due = self._due()
                while due is None:
                    if self._stopping:
                        return
                    self._cond.wait(None if self._wake_at == float("inf") else self._wake_at - self._clock())
                    due = self._due()
                if self._stopping:
                    return
            try:
                due.on_timeout()
            except Exception:  # a broken callback must not end the watching of every other check
                log.exception("watchdog callback failed")

    def _due(self) -> Watch | None:
        """Pop and return the first expired live watch, or set `_wake_at` and return None; lock held."""
        now = self._clock()
        while self._heap:
            deadline, _, entry = self._heap[0]
            if entry.cancelled:
                heapq.heappop(self._heap)
            elif deadline <= now:
                heapq.heappop(self._heap)
                return entry
            else:
                self._wake_at = deadline
                return None
        self._wake_at = float("inf")
        return None
