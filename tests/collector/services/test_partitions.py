"""PostgreSQL's daily partitions of `results` (real server, a database of their own): made ahead by
housekeeping, rows taken over from the default partition, whole days detached, downsampled and dropped;
a detach that would make ingest wait gives up and is retried."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from fernwart.collector.database import make_engine, migrate
from fernwart.collector.models import CheckRollup
from fernwart.collector.services import housekeeping, partitions
from tests.collector.helpers import BACKFILL, harness, result
from tests.conftest import PG_ADMIN_URL, _pg_admin, pg_available
from tests.support import require

pytestmark = pytest.mark.postgres
FUTURE = datetime(2027, 2, 10, 6, 0, tzinfo=UTC)  # after every partition the migration made


@pytest.fixture
def own_pg() -> Iterator[str]:
    ok, why = pg_available()
    require(ok, why)
    name = f"fernwart_parts_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _names(sessions: object) -> dict[str, bool]:
    with sessions() as db:  # type: ignore[operator]
        return {p.name: p.attached for p in partitions.listed(db.connection())}


def _rows(sessions: object, table: str) -> int:
    with sessions() as db:  # type: ignore[operator]
        return int(db.scalar(text(f"SELECT count(*) FROM {table}")))


def test_partitions_are_made_ahead_take_over_default_rows_and_whole_days_are_dropped(own_pg: str) -> None:
    day = partitions.daily_name(FUTURE.date())
    with harness(own_pg, result_max_age=BACKFILL) as h:
        h.clock.now = FUTURE
        h.enroll("web01")
        batch = [result("load", 0, FUTURE - timedelta(minutes=i)) for i in range(5)]
        assert h.report("web01", batch).json()["accepted"] == 5
        assert _rows(h.sessions, partitions.DEFAULT) == 5  # no partition of that day yet
        dry = housekeeping.run(h.sessions, FUTURE, housekeeping.Retention(), dry_run=True)
        assert dry is not None and day in dry.partitions_created and day not in _names(h.sessions)
        made = housekeeping.run(h.sessions, FUTURE, housekeeping.Retention())
        assert made is not None and made.partitions_created[0] == day and len(made.partitions_created) == 8
        assert _rows(h.sessions, day) == 5 and _rows(h.sessions, partitions.DEFAULT) == 0
        assert h.report("web01", batch).json()["accepted"] == 0  # a retry is still seen
        later = FUTURE + timedelta(days=40)
        h.clock.now = later
        dropped = housekeeping.run(h.sessions, later, housekeeping.Retention())
        assert dropped is not None and day in dropped.partitions_dropped and not dropped.partitions_busy
        names = _names(h.sessions)
        with h.sessions() as db:
            runs = db.scalar(select(func.sum(CheckRollup.runs)).where(CheckRollup.resolution == 3600))
    assert day not in names and all(names.values())  # gone, and nothing left detached
    assert partitions.daily_name((later + timedelta(days=7)).date()) in names
    assert not any(n.startswith("results_until_") for n in names)  # the pre-0009 partition went too
    assert runs == 5  # downsampled before the drop


def test_a_detach_that_would_hold_up_ingest_waits_for_the_next_run(own_pg: str) -> None:
    with harness(own_pg, result_max_age=BACKFILL) as h:
        h.clock.now = FUTURE
        h.enroll("web01")
        assert housekeeping.run(h.sessions, FUTURE, housekeeping.Retention()) is not None
        assert h.report("web01", [result("load", 0, FUTURE)]).json()["accepted"] == 1
        later = FUTURE + timedelta(days=40)
        engine = h.sessions.kw["bind"]
        host_id = h.hosts["web01"][0]
        with engine.connect() as writer:  # an ingest transaction that does not end
            writer.execute(
                text("INSERT INTO results VALUES (:id, :host, 'load', 0, '', '', '[]', :at, :at, 0)"),
                {"id": str(uuid.uuid4()), "host": host_id, "at": FUTURE},
            )
            busy = housekeeping.run(h.sessions, later, housekeeping.Retention())
            writer.rollback()
        assert busy is not None and len(busy.partitions_busy) == 1 and not busy.partitions_dropped
        assert len(busy.partitions_created) == 8  # making partitions ahead does not wait for ingest
        assert _names(h.sessions)[partitions.daily_name(FUTURE.date())] is True
        done = housekeeping.run(h.sessions, later, housekeeping.Retention())
    assert done is not None and partitions.daily_name(FUTURE.date()) in done.partitions_dropped
