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


def test_a_mark_sees_a_wake_up_after_it_even_once_the_memory_of_them_was_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fernwart.collector.services import job_wakeup

    monkeypatch.setattr(job_wakeup, "MAX_REMEMBERED", 3)
    waiters = JobWaiters()
    mark = waiters.mark()
    assert waiters.woken_since("h1", mark) is False
    waiters.wake("h1")
    assert waiters.woken_since("h1", mark) is True and waiters.woken_since("h2", mark) is False
    later = waiters.mark()
    for n in range(5):  # more hosts than it remembers: it forgets, and errs on the side of a recheck
        waiters.wake(f"other{n}")
    assert waiters.woken_since("h1", later) is True
    assert len(waiters._woken_at) <= 3
