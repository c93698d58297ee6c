"""Periodic jobs in a background thread: staleness sweep, tickets due at a maintenance window's end, SLA
clocks and escalation, monthly report mails, expiry of playbook jobs, notification delivery.

With several collectors on one PostgreSQL each sweep takes a transaction-level advisory lock first, so only
one collector sweeps and escalates at a time (the others skip that tick); notifications are claimed row by
row with SKIP LOCKED. A failing run (say, the database is restarting) is logged and retried on the next
tick: the thread never dies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.notify.base import Transport
from fernwart.collector.services import (
    diagnostics,
    escalation,
    notifications,
    report_mail,
    staleness,
    window_ends,
)

log = logging.getLogger("fernwart.collector.jobs")
SWEEP_LOCK_ID = 0x46_57_53_57  # "FWSW"


def run_sweep(
    sessions: sessionmaker[Session],
    now: datetime,
    interval: timedelta,
    policy: TicketPolicy,
    dashboard_url: str = "",
) -> bool:
    """Run the staleness sweep, the window-end pass, the SLA pass, the monthly report mails and job expiry.

    Return False when another collector holds the lock.
    """
    with sessions() as db:
        if db.get_bind().dialect.name == "postgresql":
            got = db.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": SWEEP_LOCK_ID})
            if not got:
                db.rollback()
                return False
        outcome = staleness.sweep(db, now, interval, policy)
        after_windows = window_ends.open_after_windows(db, now, policy)
        sla = escalation.run(db, now, dashboard_url)
        mailed = report_mail.queue_due(db, now, dashboard_url)
        diagnostics.expire(db, now)  # playbook jobs no agent took before their expiry
        db.commit()
    if outcome.marked:
        log.warning("hosts unreachable: %s", ", ".join(outcome.marked))
    if after_windows:
        log.warning("%d ticket(s) opened as maintenance windows ended", after_windows)
    if sla.breaches or sla.escalations:
        log.warning("SLA: %d breaches, %d escalations recorded", sla.breaches, sla.escalations)
    if mailed:
        log.info("monthly reports queued for %d recipients", mailed)
    return True


def run_deliveries(
    sessions: sessionmaker[Session], transports: Mapping[str, Transport], now: datetime
) -> int:
    """Deliver due notifications; return how many were delivered."""
    with sessions() as db:
        delivered = notifications.deliver_due(db, transports, now)
        db.commit()
    return delivered


class JobRunner:
    """Calls the periodic jobs every `interval` seconds until `stop()`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        interval: float,
        policy: TicketPolicy,
        clock: Callable[[], datetime],
        transports: Mapping[str, Transport] | None = None,
        dashboard_url: str = "",
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.policy = policy
        self.clock = clock
        self.transports = dict(transports or {})
        self.dashboard_url = dashboard_url
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
                run_sweep(
                    self.sessions,
                    self.clock(),
                    timedelta(seconds=self.interval),
                    self.policy,
                    self.dashboard_url,
                )
            except Exception:  # noqa: BLE001 - a run may fail (database restarting); the next tick retries
                log.exception("periodic job failed; retrying next tick")
            try:
                run_deliveries(self.sessions, self.transports, self.clock())
            except Exception:  # noqa: BLE001 - as above
                log.exception("notification delivery failed; retrying next tick")
            self._stop.wait(self.interval)
