"""Job wake-ups: after commit only, never after a rollback; across engines through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio

import pytest

from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.services.job_wakeup import JobListener, JobWaiters, announce, install


async def woken(waiters: JobWaiters, host_id: str, act: object, timeout: float = 10.0) -> bool:
    """Register a waiter for `host_id`, run `act` in a thread, return whether the waiter was set."""
    waiter = waiters.add(host_id)
    try:
        await asyncio.to_thread(act)  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except TimeoutError:
            return False
        return True
    finally:
        waiters.remove(host_id, waiter)


def test_waiters_are_woken_after_commit_and_not_after_rollback(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    waiters = JobWaiters()
    install(sessions, waiters)

    def rolled_back() -> None:
        with sessions() as db:
            announce(db, "h1")
            db.rollback()
            db.commit()  # a later commit of the same session must not send the dropped wake-up

    def committed() -> None:
        with sessions() as db:
            announce(db, "h1")
            db.commit()

    assert asyncio.run(woken(waiters, "h1", rolled_back, timeout=0.5)) is False
    assert asyncio.run(woken(waiters, "h1", committed)) is True
    assert asyncio.run(woken(waiters, "h2", committed, timeout=0.5)) is False  # another host's job
    assert waiters.count() == 0
    engine.dispose()


@pytest.mark.postgres
def test_a_commit_through_another_engine_wakes_the_listening_one(pg_url: str) -> None:
    sender, receiver = make_engine(pg_url), make_engine(pg_url)
    waiters = JobWaiters()  # the receiving process's waiters: no after-commit hook links the two
    listener = JobListener(receiver, waiters, poll=0.2)
    listener.start()
    try:
        assert listener.connected.wait(30)

        def committed() -> None:
            with session_factory(sender)() as db:
                announce(db, "h1")
                db.commit()

        assert asyncio.run(woken(waiters, "h1", committed)) is True
    finally:
        listener.stop()
        sender.dispose()
        receiver.dispose()
