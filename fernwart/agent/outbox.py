"""The on-disk outbox: every result is stored here before any attempt to send it.

SQLite in WAL mode with ``synchronous=FULL``: `put` returns only after the row is fsynced, so a result
survives kill -9 and power loss; `put_many` stores several results (a round of checks) with one fsync.
Rows leave the outbox in two ways only: `delete` after the collector answered 2xx, or `reject`, which
moves rows the collector refused for good into the ``rejected`` table together with the collector's
reason, where a technician can inspect them. `requeue` moves rejected rows back to the end of the
queue (same id and observed_at, so a collector that stored one already counts it as a duplicate) and
`drop` deletes rows of either kind; both take every id or none, in one transaction, so `fernwart-agent
outbox` is safe while the agent runs (a second process waits for the write lock, as SQLite does).

One connection guarded by a lock: scheduler threads `put` while the sender thread peeks and deletes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from fernwart.agent.wire import iso_utc, result_entry
from fernwart.checks.probe import utc_now
from fernwart.checks.result import CheckResult

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    check_name TEXT NOT NULL,
    check_type TEXT NOT NULL,
    interval INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    observed_at TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs_started (
    job_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_results (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    id TEXT PRIMARY KEY,
    check_name TEXT NOT NULL,
    payload TEXT NOT NULL,
    status INTEGER NOT NULL,
    error TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
"""


def time_ordered_id(at: datetime, entropy: bytes | None = None) -> str:
    """Return a UUIDv7 (RFC 9562) for `at`: 48 bits of Unix milliseconds, then 74 random bits."""
    millis = int(at.timestamp() * 1000) & (1 << 48) - 1
    rand = int.from_bytes(entropy if entropy is not None else os.urandom(10), "big") & (1 << 74) - 1
    value = millis << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | rand & (1 << 62) - 1
    return str(uuid.UUID(int=value))


@dataclass(frozen=True)
class Queued:
    """A stamped result on its way into the outbox, with what the collector needs to know of its check."""

    result: CheckResult
    check: str
    check_type: str
    interval: int
    max_attempts: int


@dataclass(frozen=True)
class OutboxEntry:
    """One queued result: its client-made id and its `results[]` item exactly as it will be sent."""

    id: str
    check: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RejectedEntry:
    """A result the collector refused for good, with the HTTP status and the collector's error text."""

    id: str
    check: str
    payload: dict[str, Any]
    status: int
    error: str
    rejected_at: str


class UnknownEntries(LookupError):
    """Some ids are not in the outbox (or not rejected, for `requeue`); nothing was changed."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = list(ids)


@dataclass(frozen=True)
class ListedEntry:
    """One row of `fernwart-agent outbox list`: a pending or rejected result and, if rejected, why."""

    id: str
    check: str
    observed_at: str
    state: str  # PENDING or REJECTED
    status: int | None = None
    reason: str = ""
    rejected_at: str = ""


PENDING = "pending"
REJECTED = "rejected"


class Outbox:
    """A durable FIFO of results waiting for the collector; safe to share between threads."""

    def __init__(self, path: Path | str, *, now: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self._now = now
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        # isolation_level=None: we open transactions ourselves, so nothing commits behind our back.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            self._db.close()
            raise
        if created:
            _fsync_dir(self.path.parent)  # make the new file's directory entry durable too

    def put(
        self, result: CheckResult, *, check: str, check_type: str, interval: int, max_attempts: int,
    ) -> str:
        """Store a stamped result durably and return its new id; raise ValueError without observed_at."""
        return self.put_many([Queued(result, check, check_type, interval, max_attempts)])[0]

    def put_many(self, items: Sequence[Queued]) -> list[str]:
        """Store stamped results durably in one transaction (one fsync) and return their new ids (UUIDv7:
        time-ordered, so the collector's index of them grows at one end instead of at random places).

        All or nothing: a result without observed_at raises ValueError before anything is stored.
        """
        rows, ids = [], []
        now = self._now()
        queued_at = iso_utc(now)
        for item in items:
            result_id = time_ordered_id(now)
            payload = result_entry(
                result_id, item.check, item.check_type, item.result,
                interval=item.interval, max_attempts=item.max_attempts,
            )
            rows.append((result_id, item.check, item.check_type, item.interval, item.max_attempts,
                         payload["observed_at"], queued_at, json.dumps(payload, allow_nan=False)))
            ids.append(result_id)
        if not rows:
            return []
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT INTO outbox (id, check_name, check_type, interval, max_attempts, observed_at,"
                " queued_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return ids

    def peek(self, limit: int) -> list[OutboxEntry]:
        """Return up to `limit` entries, oldest first, without removing them (limit < 1 gives [])."""
        if limit < 1:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT id, check_name, payload FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [OutboxEntry(row[0], row[1], json.loads(row[2])) for row in rows]

    def delete(self, ids: Iterable[str]) -> int:
        """Remove the entries with these ids (unknown ids are ignored); return how many were removed."""
        id_list = list(ids)
        if not id_list:
            return 0
        with self._lock, self._transaction():
            cursor = self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in id_list])
            return cursor.rowcount

    def reject(self, ids: Iterable[str], status: int, error: str) -> int:
        """Move these entries to the ``rejected`` table with `status` and `error`, in one transaction."""
        id_list = list(ids)
        if not id_list:
            return 0
        moved = 0
        with self._lock, self._transaction():
            for result_id in id_list:
                row = self._db.execute(
                    "SELECT check_name, payload FROM outbox WHERE id = ?", (result_id,)
                ).fetchone()
                if row is None:
                    continue
                self._db.execute(
                    "INSERT OR REPLACE INTO rejected (id, check_name, payload, status, error, rejected_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (result_id, row[0], row[1], status, error, iso_utc(self._now())),
                )
                self._db.execute("DELETE FROM outbox WHERE id = ?", (result_id,))
                moved += 1
        return moved

    def start_job(self, job_id: str) -> bool:
        """Record durably that job `job_id` starts; False when it was started before (never run twice)."""
        with self._lock, self._transaction():
            cursor = self._db.execute("INSERT OR IGNORE INTO jobs_started (job_id, started_at) VALUES (?, ?)",
                                      (job_id, iso_utc(self._now())))
            return cursor.rowcount == 1

    def put_job_result(self, job_id: str, payload: dict[str, Any]) -> str:
        """Store a job's result durably with a new UUID4 and mark the job finished; return the id."""
        result_id = str(uuid.uuid4())
        with self._lock, self._transaction():
            self._db.execute("INSERT OR IGNORE INTO jobs_started (job_id, started_at) VALUES (?, ?)",
                             (job_id, iso_utc(self._now())))
            self._db.execute("UPDATE jobs_started SET finished = 1 WHERE job_id = ?", (job_id,))
            self._db.execute("INSERT OR IGNORE INTO job_results (id, job_id, payload, queued_at)"
                             " VALUES (?, ?, ?, ?)",
                             (result_id, job_id, json.dumps(payload, allow_nan=False), iso_utc(self._now())))
        return result_id

    def interrupted_jobs(self) -> list[str]:
        """Return the jobs started but never finished (the agent stopped in the middle)."""
        with self._lock:
            rows = self._db.execute("SELECT job_id FROM jobs_started WHERE finished = 0").fetchall()
        return [r[0] for r in rows]

    def job_results(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Return (result id, job id, payload) of every result waiting to be sent."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, job_id, payload FROM job_results ORDER BY queued_at"
            ).fetchall()
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def delete_job_result(self, result_id: str) -> None:
        """Remove a result the collector accepted."""
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM job_results WHERE id = ?", (result_id,))

    def count(self) -> int:
        """Return the number of entries waiting to be sent."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def rejected(self) -> list[RejectedEntry]:
        """Return every rejected entry, oldest rejection first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, check_name, payload, status, error, rejected_at FROM rejected"
                " ORDER BY rejected_at"
            ).fetchall()
        return [RejectedEntry(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5]) for r in rows]

    def rejected_count(self) -> int:
        """Return the number of results set aside as rejected."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0])

    def listing(self, *, pending: bool = True) -> list[ListedEntry]:
        """Return the pending entries (oldest first, unless `pending` is False), then the rejected ones."""
        with self._lock:
            waiting = self._db.execute(
                "SELECT id, check_name, observed_at FROM outbox ORDER BY seq"
            ).fetchall() if pending else []
            refused = self._db.execute(
                "SELECT id, check_name, payload, status, error, rejected_at FROM rejected"
                " ORDER BY rejected_at, id"
            ).fetchall()
        listed = [ListedEntry(r[0], r[1], r[2], PENDING) for r in waiting]
        listed += [ListedEntry(r[0], r[1], str(json.loads(r[2]).get("observed_at", "")), REJECTED,
                               r[3], r[4], r[5]) for r in refused]
        return listed

    def requeue(self, ids: Iterable[str] | None = None) -> list[str]:
        """Move these rejected entries (None: every one) back to the end of the queue; return their ids.

        All or nothing: an id that is not rejected raises UnknownEntries and nothing moves.
        """
        queued_at = iso_utc(self._now())
        with self._lock, self._transaction():
            rows = self._pick_rejected("id, check_name, payload", ids)
            for result_id, check, payload in rows:
                item = json.loads(payload)
                self._db.execute(
                    "INSERT INTO outbox (id, check_name, check_type, interval, max_attempts, observed_at,"
                    " queued_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (result_id, check, str(item.get("type", "")), int(item.get("interval", 0)),
                     int(item.get("max_attempts", 1)), str(item.get("observed_at", "")), queued_at, payload),
                )
                self._db.execute("DELETE FROM rejected WHERE id = ?", (result_id,))
        return [row[0] for row in rows]

    def drop(self, ids: Iterable[str] | None = None) -> list[str]:
        """Delete these entries, pending or rejected (None: every rejected one); return their ids.

        All or nothing: an id in neither table raises UnknownEntries and nothing is deleted.
        """
        with self._lock, self._transaction():
            if ids is None:
                dropped = [row[0] for row in self._pick_rejected("id", None)]
                self._db.execute("DELETE FROM rejected")
                return dropped
            wanted = list(dict.fromkeys(ids))
            unknown = [i for i in wanted if self._db.execute(
                "SELECT 1 FROM outbox WHERE id = ? UNION ALL SELECT 1 FROM rejected WHERE id = ?", (i, i)
            ).fetchone() is None]
            if unknown:
                raise UnknownEntries(unknown)
            for result_id in wanted:
                self._db.execute("DELETE FROM outbox WHERE id = ?", (result_id,))
                self._db.execute("DELETE FROM rejected WHERE id = ?", (result_id,))
        return wanted

    def _pick_rejected(self, columns: str, ids: Iterable[str] | None) -> list[tuple[Any, ...]]:
        """Return rejected rows for `ids` (None: all, oldest first); raise UnknownEntries for missing ids."""
        if ids is None:
            return list(self._db.execute(f"SELECT {columns} FROM rejected ORDER BY rejected_at, id"))
        rows, unknown = [], []
        for result_id in dict.fromkeys(ids):
            row = self._db.execute(f"SELECT {columns} FROM rejected WHERE id = ?", (result_id,)).fetchone()
            if row is None:
                unknown.append(result_id)
            else:
                rows.append(row)
        if unknown:
            raise UnknownEntries(unknown)
        return rows

    def close(self) -> None:
        """Close the database; further calls fail. Closing twice is harmless."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); the caller holds the outbox lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
