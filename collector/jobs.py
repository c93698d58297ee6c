"""Periodic jobs (the staleness sweep) in a background thread.

With several collectors on one PostgreSQL each run takes a transaction-level advisory lock first, so
only one collector sweeps at a time; the others skip that tick. A failing run (say, the database is
restarting) is logged and retried on the next tick: the thread never dies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from collector.domain.tickets import TicketPolicy
from collector.services import staleness

log = logging.getLogger("fernwart.collector.jobs")
SWEEP_LOCK_ID = 0x46_57_53_57  # "FWSW"


def run_sweep(
    sessions: sessionmaker[Session], now: datetime, interval: timedelta, policy: TicketPolicy
) -> bool:
    """Run one staleness sweep; return False when another collector holds the lock."""
    with sessions() as db:
        if db.get_bind().dialect.name == "postgresql":
            got = db.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": SWEEP_LOCK_ID})
            if not got:
                db.rollback()
                return False
        outcome = staleness.sweep(db, now, interval, policy)
        db.commit()
    if outcome.marked:
        log.warning("hosts unreachable: %s", ", ".join(outcome.marked))
    return True


class JobRunner:
    """Calls the periodic jobs every `interval` seconds until `stop()`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        interval: float,
        policy: TicketPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.policy = policy
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fernwart-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_sweep(self.sessions, self.clock(), timedelta(seconds=self.interval), self.policy)
            except Exception:  # noqa: BLE001 - a job run may fail (database restarting); the next tick retries
                log.exception("staleness sweep failed; retrying next tick")
            self._stop.wait(self.interval)
