"""Periodic jobs in a background thread: staleness sweep, tickets due at a maintenance window's end, SLA
clocks and escalation, monthly report mails, expiry of playbook jobs, notification delivery; and in a
thread of its own (it may take minutes, the sweep must not wait) housekeeping (`services.housekeeping`):
partitions ahead, raw results downsampled and deleted after their retention, history pruned.

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

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.notify.base import Transport
from fernwart.collector.services import (
    diagnostics,
    escalation,
    housekeeping,
    notifications,
    report_mail,
    staleness,
    window_ends,
)

log = logging.getLogger("fernwart.collector.jobs")
SWEEP_LOCK_ID = 0x46_57_53_57  # "FWSW"
SWEEP_BATCH = 200  # hosts marked per transaction
SWEEP_CAP = 5_000  # hosts marked per run; the next run continues
LOGGED_HOSTS = 20  # host ids named in the log line


def run_sweep(
    sessions: sessionmaker[Session],
    now: datetime,
    interval: timedelta,
    policy: TicketPolicy,
    dashboard_url: str = "",
    rule: staleness.SilenceRule = staleness.DEFAULT_SILENCE,
    on_tickets_opened: Callable[[int], None] | None = None,
    batch: int = SWEEP_BATCH,
    cap: int = SWEEP_CAP,
) -> bool:
    """Run the staleness sweep, the window-end pass, the SLA pass, the monthly report mails and job
    expiry; return False when another collector holds the lock.

    The sweep commits every `batch` hosts (short transactions: ingest waits on a host's row for one
    batch at most) and stops after `cap` hosts; the next run continues. On PostgreSQL the advisory lock
    is held by a connection of its own for the whole run.
    """
    engine: Engine = sessions.kw["bind"]
    with engine.connect() as holder:
        if engine.dialect.name == "postgresql":
            got = holder.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": SWEEP_LOCK_ID})
            holder.commit()
            if not got:
                return False
        try:
            marked, opened = _sweep_in_batches(sessions, now, interval, policy, rule, batch, cap)
            with sessions() as db:
                after_windows = window_ends.open_after_windows(db, now, policy)
                sla = escalation.run(db, now, dashboard_url)
                mailed = report_mail.queue_due(db, now, dashboard_url)
                diagnostics.expire(db, now)  # playbook jobs no agent took before their expiry
                db.commit()
        finally:
            if engine.dialect.name == "postgresql":
                holder.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": SWEEP_LOCK_ID})
                holder.commit()
    if on_tickets_opened is not None and opened:
        on_tickets_opened(opened)
    if marked:
        log.warning("hosts unreachable: %d (%s)", len(marked), ", ".join(marked[:LOGGED_HOSTS]))
    if after_windows:
        log.warning("%d ticket(s) opened as maintenance windows ended", after_windows)
    if sla.breaches or sla.escalations:
        log.warning("SLA: %d breaches, %d escalations recorded", sla.breaches, sla.escalations)
    if mailed:
        log.info("monthly reports queued for %d recipients", mailed)
    return True


def _sweep_in_batches(
    sessions: sessionmaker[Session],
    now: datetime,
    interval: timedelta,
    policy: TicketPolicy,
    rule: staleness.SilenceRule,
    batch: int,
    cap: int,
) -> tuple[list[str], int]:
    """Plan mass-silence incidents, then mark stale hosts batch by batch; return (marked, tickets)."""
    with sessions() as db:
        resumed_at = staleness.begin(db, now, interval)
        incidents = staleness.plan_incidents(db, now, resumed_at, rule)
        db.commit()
    for incident in incidents:
        scope = "all customers" if incident.customer_id is None else f"customer {incident.customer_id}"
        log.warning(
            "mass silence (%s): %d of %d hosts silent in one sweep; one incident ticket #%d instead of one "
            "per host",
            scope,
            len(incident.silent),
            incident.total,
            incident.ticket_id,
        )
    marked: list[str] = []
    opened = len(incidents)
    while len(marked) < cap:
        with sessions() as db:
            done = staleness.mark_batch(db, now, resumed_at, policy, min(batch, cap - len(marked)))
            db.commit()
        marked.extend(done.marked)
        opened += done.tickets_opened
        if not done.more:
            break
    return marked, opened


def run_housekeeping(
    sessions: sessionmaker[Session], now: datetime, retention: housekeeping.Retention
) -> housekeeping.Outcome | None:
    """Run housekeeping once and log what it did; return None when another collector is running it."""
    outcome = housekeeping.run(sessions, now, retention)
    if outcome is not None and (outcome.results_downsampled or outcome.partitions_dropped
                                or outcome.partitions_created or outcome.partitions_busy):
        for line in outcome.lines():
            log.info("housekeeping: %s", line)
    return outcome


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
        rule: staleness.SilenceRule = staleness.DEFAULT_SILENCE,
        on_tickets_opened: Callable[[int], None] | None = None,
        retention: housekeeping.Retention | None = None,
        housekeeping_interval: float = 3600.0,
    ) -> None:
        self.sessions = sessions
        self.retention = retention
        self.housekeeping_interval = housekeeping_interval
        self.interval = interval
        self.policy = policy
        self.clock = clock
        self.transports = dict(transports or {})
        self.dashboard_url = dashboard_url
        self.rule = rule
        self.on_tickets_opened = on_tickets_opened
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fernwart-jobs", daemon=True)
        self._housekeeper = threading.Thread(
            target=self._housekeep, name="fernwart-housekeeping", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        if self.retention is not None:
            self._housekeeper.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self._housekeeper.is_alive():
            self._housekeeper.join(timeout=10)

    def _housekeep(self) -> None:
        assert self.retention is not None
        while not self._stop.is_set():
            wait = self.housekeeping_interval
            try:
                outcome = run_housekeeping(self.sessions, self.clock(), self.retention)
                if outcome is not None and (outcome.more or outcome.partitions_busy):
                    wait = self.interval  # more to do: go on soon
            except Exception:  # noqa: BLE001 - as below; the next run retries
                log.exception("housekeeping failed; retrying next run")
                wait = max(self.interval, min(wait, 60.0))
            self._stop.wait(wait)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_sweep(
                    self.sessions,
                    self.clock(),
                    timedelta(seconds=self.interval),
                    self.policy,
                    self.dashboard_url,
                    self.rule,
                    self.on_tickets_opened,
                )
            except Exception:  # noqa: BLE001 - a run may fail (database restarting); the next tick retries
                log.exception("periodic job failed; retrying next tick")
            try:
                run_deliveries(self.sessions, self.transports, self.clock())
            except Exception:  # noqa: BLE001 - as above
                log.exception("notification delivery failed; retrying next tick")
            self._stop.wait(self.interval)
