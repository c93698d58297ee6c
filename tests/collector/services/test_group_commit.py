"""Group commit on a real database: concurrent reports share commits, a failure is answered alone."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.models import MetaValue
from fernwart.collector.services.errors import Invalid, ServiceError
from fernwart.collector.services.group_commit import GroupCommit, WriteJob
from tests.collector.helpers import harness, result


def _put(key: str, fail: bool = False) -> WriteJob[str, str]:
    def prepare(db: Session) -> str:
        if key.startswith("refuse"):
            raise Invalid(f"{key}: refused")
        return key

    def apply(db: Session, prepared: str) -> str:
        db.add(MetaValue(key=prepared, value="v"))
        db.flush()
        if fail:
            raise RuntimeError("apply failed after writing")
        return prepared

    return WriteJob(prepare, apply, order=key)


def test_a_group_commits_once_a_refusal_and_a_failure_are_answered_to_their_own_job(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    writer = GroupCommit(sessions, refusals=(ServiceError,))
    gate = threading.Event()
    # the first job holds the writer until the others are queued, so they form one group
    writer.submit(WriteJob(lambda db: gate.wait(30), lambda db, _: "first", order="0"))
    futures: dict[str, Future[str]] = {
        k: writer.submit(_put(k, fail=k == "b-fails")) for k in ("a", "b-fails", "c", "refuse-d")
    }
    gate.set()
    assert futures["a"].result(30) == "a" and futures["c"].result(30) == "c"
    with pytest.raises(RuntimeError):
        futures["b-fails"].result(30)
    with pytest.raises(Invalid):
        futures["refuse-d"].result(30)
    writer.stop()
    with sessions() as db:
        stored = set(db.scalars(select(MetaValue.key).where(MetaValue.key.in_(futures))))
    assert stored == {"a", "c"}  # the failed job's row went with its rollback; the others were retried
    engine.dispose()


def test_jobs_waiting_while_a_commit_runs_share_the_next_commit(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    writer = GroupCommit(sessions, refusals=(ServiceError,))
    gate = threading.Event()
    writer.submit(WriteJob(lambda db: gate.wait(30), lambda db, _: "first", order="0"))
    futures = [writer.submit(_put(f"k{n}")) for n in range(5)]
    gate.set()
    assert [f.result(30) for f in futures] == [f"k{n}" for n in range(5)]
    assert writer.jobs == 6 and writer.groups <= 2  # the first alone or with them; the five together
    writer.stop()
    engine.dispose()


def test_concurrent_reports_share_commits_and_every_result_is_stored_once(database_url: str) -> None:
    with harness(database_url) as h:
        hosts = [f"web{n:02d}" for n in range(12)]
        for name in hosts:
            h.enroll(name)
        at = h.clock.advance(seconds=1)
        answers: list[int] = []
        ids = [[result("disk", 0, at) for _ in range(3)] for _ in hosts]

        def send(n: int) -> None:
            for r in ids[n]:
                answers.append(h.report(hosts[n], [r]).status_code)
                answers.append(h.report(hosts[n], [r]).status_code)  # a retry of the same id

        threads = [threading.Thread(target=send, args=(n,)) for n in range(len(hosts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200] * (2 * 3 * len(hosts))
        writer = h.client.app.state.writer  # type: ignore[attr-defined]
        assert writer.jobs == len(answers) and writer.groups <= writer.jobs
        with h.sessions() as db:
            stored = db.scalar(text("SELECT count(*) FROM results"))
            distinct = db.scalar(select(func.count(func.distinct(text("id")))).select_from(text("results")))
        assert stored == distinct == 3 * len(hosts)
