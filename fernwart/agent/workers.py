"""The threads checks run in: daemon workers, started as needed and then reused, behind APScheduler.

APScheduler's own thread pool is `concurrent.futures.ThreadPoolExecutor`, whose workers the interpreter
joins at exit: a check hung in one of them would keep a stopped agent alive forever. These workers are
daemon threads, so a hung check holds only its own worker, and the process still exits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

from apscheduler.executors.pool import BasePoolExecutor

P = ParamSpec("P")
T = TypeVar("T")
_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonPool(Executor):
    """Runs submitted calls in up to `max_workers` daemon threads; an idle worker is reused first."""

    def __init__(self, max_workers: int, name: str = "check-worker") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._name = name
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for an item that no submit has claimed yet
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def threads(self) -> int:
        """Return how many worker threads were started."""
        return len(self._threads)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue `fn(*args, **kwargs)`; start a worker unless one is idle (or max_workers are busy)."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit after shutdown")
            self._queue.put((future, fn, args, kwargs))
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self.max_workers:
                worker = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True,
                )
                self._threads.append(worker)
                worker.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls and let idle workers end; with `wait`, join every worker (hung ones too)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        if wait:
            for worker in threads:
                worker.join()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn, args, kwargs = item
            del item
            if not future.set_running_or_notify_cancel():
                self._mark_idle()
                continue
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # the Future carries it to whoever waits on it
                self._mark_idle()
                future.set_exception(exc)
            else:
                self._mark_idle()
                future.set_result(value)
            del future

    def _mark_idle(self) -> None:
        # before the future completes, so a caller that waited for it finds this worker idle
        with self._lock:
            self._idle += 1


class DaemonPoolExecutor(BasePoolExecutor):  # type: ignore[misc]  # APScheduler ships no types
    """APScheduler executor on a `DaemonPool` (a new one, or `pool` to share it with other callers)."""

    def __init__(self, max_workers: int, pool: DaemonPool | None = None) -> None:
        super().__init__(pool if pool is not None else DaemonPool(max_workers))
