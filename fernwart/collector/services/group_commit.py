"""Group commit: the write jobs of concurrent requests run on writer threads, several to a transaction.

A request hands its job to `GroupCommit.submit` and waits for the future; a writer thread takes every
job that is waiting (up to a size cap), runs them one after the other in one transaction and commits
once, then answers all of them. PostgreSQL gets a few writer threads
(each a group at a time: one waits on the network while another works), SQLite one. A job is answered
only after its commit, so an acknowledged result
survives a crash (kill -9) exactly as before; nothing waits for a timer: at low load a group is one job,
and the group grows by itself while a commit is under way. On SQLite this is also the process's one
writer: its requests queue here instead of sleeping in SQLite's busy handler.

A job has two steps. `prepare` may refuse (raise one of `refusals`, e.g. an unknown token or an invalid
body) and must not write; a refusal answers that job only. `apply` writes; whatever it raises (a
database error, a deadlock, a lost connection, a uniqueness race with another collector) rolls the
whole group back, and every job of the group is then run again alone, in its own transaction, so that
one failure is answered to its own request only. A connection the server dropped (a database restart;
there is no pre-ping per checkout) is retried once on a fresh connection.

Jobs of a group run sorted by their `order` key (the agent token's hash for reports), so that two
collectors on one PostgreSQL lock hosts' rows in the same order and do not deadlock each other.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

P = TypeVar("P")
T = TypeVar("T")
log = logging.getLogger("fernwart.collector")


@dataclass(eq=False)
class WriteJob(Generic[P, T]):
    """One request's writes: `prepare` (may refuse, writes nothing), then `apply` (writes)."""

    prepare: Callable[[Session], P]
    apply: Callable[[Session, P], T]
    order: str = ""
    size: int = 1  # what it weighs against the group's cap (bytes of the request body)
    future: Future[T] = field(default_factory=Future)


@dataclass
class _Done:
    job: WriteJob[Any, Any]
    value: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Runs submitted jobs on one writer thread, a group of them per transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        refusals: tuple[type[BaseException], ...],
        writers: int = 1,
        max_size: int = 1_000_000,
        max_jobs: int = 256,
    ) -> None:
        self.sessions = sessions
        self.refusals = refusals
        self.writers = writers
        self.max_size = max_size
        self.max_jobs = max_jobs
        self._queue: queue.SimpleQueue[WriteJob[Any, Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.groups = 0  # transactions committed, for tests and metrics
        self.jobs = 0

    def submit(self, job: WriteJob[P, T]) -> Future[T]:
        """Queue `job` and return its future (the writer threads start on the first job)."""
        with self._lock:
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._run, name=f"fernwart-writer-{n}", daemon=True)
                    for n in range(self.writers)
                ]
                for thread in self._threads:
                    thread.start()
        self._queue.put(job)
        return job.future

    def stop(self, timeout: float = 30) -> None:
        """Answer the jobs already queued, then end the writer threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, size, ending = [first], first.size, False
            while len(group) < self.max_jobs and size < self.max_size:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    ending = True
                    break
                group.append(more)
                size += more.size
            live = [job for job in group if job.future.set_running_or_notify_cancel()]
            if live:
                self._commit(sorted(live, key=lambda job: job.order))
            if ending:
                return

    def _commit(self, group: list[WriteJob[Any, Any]]) -> None:
        try:
            done = self._transaction(group)
        except Exception as exc:  # noqa: BLE001 - each job is run again alone and answered
            if len(group) == 1:
                group[0].future.set_exception(exc)
                return
            log.warning("group of %d reports failed (%s); running each alone", len(group), exc)
            for job in group:
                try:
                    self._answer(self._transaction([job]))
                except Exception as alone:  # noqa: BLE001 - answered to its own request
                    job.future.set_exception(alone)
            return
        self._answer(done)

    def _transaction(self, group: list[WriteJob[Any, Any]]) -> list[_Done]:
        try:
            return self._once(group)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # the server dropped the connection (a restart): SQLAlchemy discarded the pool; once more
            log.warning("database connection lost (%s); retrying on a fresh one", exc.orig)
            return self._once(group)

    def _once(self, group: list[WriteJob[Any, Any]]) -> list[_Done]:
        done: list[_Done] = []
        with self.sessions() as session:
            for job in group:
                try:
                    prepared = job.prepare(session)
                except self.refusals as refusal:
                    done.append(_Done(job, error=refusal))
                    continue
                done.append(_Done(job, value=job.apply(session, prepared)))
            session.commit()
        with self._lock:
            self.groups += 1
            self.jobs += len(group)
        return done

    @staticmethod
    def _answer(done: list[_Done]) -> None:
        for d in done:
            if d.error is not None:
                d.job.future.set_exception(d.error)
            else:
                d.job.future.set_result(d.value)
