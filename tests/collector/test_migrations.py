"""Data migrations run against real rows on both databases."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from fernwart.collector.database import MIGRATIONS, make_engine
from tests.collector.helpers import harness, result


def test_0004_restarts_flap_histories_as_a_steady_run_of_the_hard_status(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        h.report("web01", [result("down", 2, h.clock.advance(seconds=60), max_attempts=1),
                           result("bouncing", 0, h.clock.now)])
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            # histories as 0.1 wrote them: every result, SOFT problems too; one check flagged flapping
            conn.execute(text("UPDATE check_states SET flap_history = '020202020202020202020', flapping = "
                              "(check_name = 'bouncing'), flap_percent = 100"))
            conn.commit()
            if conn.dialect.name == "sqlite":
                # as on the alembic command line: SQLite's batch copies drop tables others point at
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
            command.upgrade(cfg, "head")
            conn.commit()
            rows = conn.execute(text(
                "SELECT check_name, flap_history, flap_percent, flapping FROM check_states "
                "WHERE check_name <> 'host' ORDER BY check_name"
            )).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("bouncing", "0" * 21, 0, True), ("down", "2" * 21, 0, False)]


def test_0011_moves_results_into_partitions_and_back_without_losing_a_row(database_url: str) -> None:
    from datetime import timedelta

    from tests.collector.helpers import BACKFILL

    with harness(database_url, result_max_age=BACKFILL) as h:
        web01 = h.enroll("web01")
        batch = [result("disk", i % 3, h.clock.now - timedelta(days=i)) for i in range(50)]
        assert h.report("web01", batch).json()["accepted"] == 50
    engine = make_engine(database_url)
    ids = "SELECT id, observed_at FROM results ORDER BY id"
    try:
        with engine.connect() as conn:
            before = conn.execute(text(ids)).all()
            if conn.dialect.name == "sqlite":
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010")
            conn.commit()
            plain = conn.execute(text(ids)).all()
            command.upgrade(cfg, "head")
            conn.commit()
            after = conn.execute(text(ids)).all()
            partitioned = conn.dialect.name == "postgresql" and conn.scalar(text(
                "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'results'::regclass"))
    finally:
        engine.dispose()
    assert len(before) == 50 and plain == before and after == before
    assert partitioned or engine.dialect.name == "sqlite"
    with harness(database_url, "admin2", result_max_age=BACKFILL) as h:  # moved rows still count as stored
        h.hosts["web01"] = web01
        assert h.report("web01", batch).json()["accepted"] == 0

