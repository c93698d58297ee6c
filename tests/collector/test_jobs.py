"""The periodic jobs (collector.jobs): one sweeper at a time on PostgreSQL, delivery, a loop that survives."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from fernwart.collector import jobs
from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.models import Host, Notification, Ticket
from fernwart.collector.notify.base import Message, Receipt
from fernwart.collector.services import auth, staleness

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = TicketPolicy()


def state_of(sessions: Any, host_id: str) -> str:
    with sessions() as db:
        host = db.get(Host, host_id)
        assert host is not None
        return host.state


def enroll_silent_host(sessions: Any, name: str, at: datetime) -> str:
    with sessions() as db:
        token = auth.create_enrollment_token(db, at)
        host_id = auth.enroll(db, token, name, "Linux", "test", at).host_id
        db.commit()
    return host_id


def test_the_sweep_marks_a_silent_host_and_opens_its_ticket(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    host_id = enroll_silent_host(sessions, "web01", T0)
    interval = timedelta(seconds=60)  # stale after 3 heartbeats of 60 s: 180 s from the first sweep
    for minute in range(3):
        assert jobs.run_sweep(sessions, T0 + timedelta(minutes=minute), interval, POLICY) is True
    assert state_of(sessions, host_id) == "pending"
    jobs.run_sweep(sessions, T0 + timedelta(minutes=3), interval, POLICY)
    assert state_of(sessions, host_id) == "unreachable"
    engine.dispose()


@pytest.mark.postgres
def test_a_second_collector_skips_the_sweep_while_the_first_holds_the_lock(pg_url: str) -> None:
    engine = make_engine(pg_url)
    sessions = session_factory(engine)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": jobs.SWEEP_LOCK_ID})
        assert jobs.run_sweep(sessions, T0, timedelta(seconds=10), POLICY) is False
        holder.rollback()  # ends the transaction and with it the lock
    assert jobs.run_sweep(sessions, T0, timedelta(seconds=10), POLICY) is True
    engine.dispose()


class Recorder:
    """A transport that accepts every message and remembers it."""

    name = "email"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, notification: Message, target: str) -> Receipt:
        self.sent.append((notification.subject, target))
        return Receipt(response_code=250)


def test_deliveries_send_due_notifications_once(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    with sessions() as db:
        db.add(
            Notification(
                dedupe_key="k1", ticket_id=None, kind="ticket_opened", level=1, target="ops@example.com",
                subject="[Fernwart P1] #1 ticket opened", body="...", state="pending", attempts=0,
                next_attempt_at=T0, created_at=T0, last_error="",
                payload={"notification_id": "n1", "kind": "ticket_opened", "occurred_at": T0.isoformat(),
                         "ticket_id": 1, "customer": "C", "host": "h", "level": 1, "priority": "P1",
                         "dashboard_url": ""},
            )
        )
        db.commit()
    transport = Recorder()
    assert jobs.run_deliveries(sessions, {"email": transport}, T0) == 1
    assert jobs.run_deliveries(sessions, {"email": transport}, T0 + timedelta(minutes=1)) == 0
    assert transport.sent == [("[Fernwart P1] #1 ticket opened", "ops@example.com")]
    with sessions() as db:
        assert db.scalar(select(Notification.state)) == "delivered"
    engine.dispose()


def test_the_job_loop_survives_a_failing_run_and_stops_promptly(database_url: str) -> None:
    engine = make_engine(database_url)
    real = session_factory(engine)
    calls: list[int] = []
    ran_twice = threading.Event()

    def sessions() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")  # the first sweep fails
        if len(calls) >= 3:
            ran_twice.set()
        return real()

    runner = jobs.JobRunner(sessions, 0.01, POLICY, lambda: T0)  # type: ignore[arg-type]
    runner.start()
    try:
        assert ran_twice.wait(10), "the loop died after the failing run"
    finally:
        runner.stop()
    assert not runner._thread.is_alive()
    engine.dispose()


def sweep_until_stale(sessions: Any, interval: timedelta, **kw: Any) -> datetime:
    """Sweep every `interval` until 3 heartbeats (180 s) have passed; return the time of the stale sweep."""
    at = T0
    while at < T0 + timedelta(seconds=180):
        assert jobs.run_sweep(sessions, at, interval, POLICY, **kw) is True
        at += interval
    return at


def test_the_sweep_commits_in_batches_stops_at_its_cap_and_the_next_run_continues(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    hosts = [enroll_silent_host(sessions, f"web{n}", T0) for n in range(5)]
    counted: list[int] = []
    interval = timedelta(seconds=60)
    rule = staleness.SilenceRule(min_hosts=100)  # no mass silence here: one ticket per host
    at = sweep_until_stale(sessions, interval, rule=rule)
    jobs.run_sweep(
        sessions, at, interval, POLICY, rule=rule, on_tickets_opened=counted.append, batch=2, cap=3
    )
    assert sorted(state_of(sessions, h) for h in hosts) == ["pending"] * 2 + ["unreachable"] * 3
    jobs.run_sweep(sessions, at + interval, interval, POLICY, rule=rule, on_tickets_opened=counted.append)
    assert {state_of(sessions, h) for h in hosts} == {"unreachable"}
    assert counted == [3, 2]
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 5
    engine.dispose()


@pytest.mark.postgres
def test_two_collectors_sweeping_one_postgresql_never_mark_a_host_or_open_a_ticket_twice(pg_url: str) -> None:
    engine = make_engine(pg_url)
    sessions = session_factory(engine)
    for n in range(6):
        enroll_silent_host(sessions, f"web{n}", T0)
    interval = timedelta(seconds=60)
    at = sweep_until_stale(sessions, interval)
    with sessions() as first, sessions() as second:  # two collectors without the advisory lock between them
        resumed_at = staleness.begin(first, at, interval)
        first.commit()
        taken = staleness.mark_batch(first, at, resumed_at, POLICY, limit=4)  # rows locked, not committed
        skipped = staleness.mark_batch(second, at, resumed_at, POLICY, limit=10)  # SKIP LOCKED: the rest
        second.commit()
        first.commit()
        again = staleness.mark_batch(second, at, resumed_at, POLICY, limit=10)
        second.commit()
    assert len(taken.marked) == 4 and len(skipped.marked) == 2 and again.marked == ()
    assert set(taken.marked).isdisjoint(skipped.marked)
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 6
    engine.dispose()


@pytest.mark.postgres
def test_collectors_sweeping_at_once_open_one_mass_silence_incident(pg_url: str) -> None:
    engine = make_engine(pg_url)
    sessions = session_factory(engine)
    hosts = [enroll_silent_host(sessions, f"web{n:02d}", T0) for n in range(12)]
    interval = timedelta(seconds=60)
    at = sweep_until_stale(sessions, interval, rule=staleness.SilenceRule(min_hosts=100))
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def collector() -> None:
        barrier.wait()
        results.append(jobs.run_sweep(sessions, at, interval, POLICY, batch=5))

    threads = [threading.Thread(target=collector) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(2):  # whoever skipped sweeps again, as on its next tick
        jobs.run_sweep(sessions, at + interval, interval, POLICY)
    assert {state_of(sessions, h) for h in hosts} == {"unreachable"}
    with sessions() as db:
        assert db.scalars(select(Ticket.check_name)).all() == [staleness.MASS_SILENCE_ALL]
    engine.dispose()
