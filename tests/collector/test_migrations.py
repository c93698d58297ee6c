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
