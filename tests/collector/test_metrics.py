"""The collector's metrics (collector.metrics): this process's counters, the database's gauges."""

from __future__ import annotations

from datetime import UTC, datetime

from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.metrics import Metrics
from fernwart.collector.models import Host
from fernwart.collector.services import auth
from fernwart.collector.services.ingest import IngestOutcome

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def sample(text: str, name: str) -> float:
    """Return the value of the sample line starting with `name` (labels included)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name!r} in:\n{text}")


def test_ingest_counters_count_what_was_stored_and_what_was_repeated(database_url: str) -> None:
    engine = make_engine(database_url)
    metrics = Metrics(session_factory(engine))
    metrics.observe_ingest(IngestOutcome(accepted=3, duplicates=1, state_changes=2, tickets_opened=1,
                                         tickets_resolved=0), 0.004)
    metrics.observe_ingest(IngestOutcome(accepted=2, duplicates=0, state_changes=0, tickets_opened=0,
                                         tickets_resolved=0), 0.2)
    text = metrics.render().decode()
    assert sample(text, "fernwart_results_ingested_total") == 5
    assert sample(text, "fernwart_results_duplicate_total") == 1
    assert sample(text, "fernwart_reports_total") == 2
    assert sample(text, "fernwart_tickets_opened_total") == 0  # read from the tickets' history
    assert sample(text, 'fernwart_ingest_seconds_bucket{le="0.005"}') == 1
    assert sample(text, "fernwart_ingest_seconds_count") == 2
    engine.dispose()


def test_gauges_read_the_database_at_scrape_time(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    metrics = Metrics(sessions)
    before = metrics.render().decode()
    assert sample(before, 'fernwart_hosts{state="pending"}') == 0
    with sessions() as db:
        for name in ("a1", "a2"):
            token = auth.create_enrollment_token(db, T0)
            auth.enroll(db, token, name, "Linux", "test", T0)
        db.flush()
        db.query(Host).filter(Host.name == "a2").update({"state": "unreachable"})
        db.commit()
    after = metrics.render().decode()
    assert sample(after, 'fernwart_hosts{state="pending"}') == 1
    assert sample(after, 'fernwart_hosts{state="unreachable"}') == 1
    assert sample(after, "fernwart_open_tickets") == 0
    engine.dispose()


def test_history_tables_show_their_rows_and_the_age_of_their_oldest_row(database_url: str) -> None:
    from datetime import timedelta

    from sqlalchemy import text as sql

    from fernwart.collector.models import utcnow
    from tests.collector.helpers import BACKFILL, harness, result

    with harness(database_url, result_max_age=BACKFILL) as h:
        h.clock.now = utcnow()
        h.enroll("web01")
        old = h.clock.now - timedelta(days=2)
        assert h.report("web01", [result("load", 0, old), result("load", 0, h.clock.now)]).status_code == 200
        with h.sessions() as db:  # PostgreSQL's row figures are the planner's estimates: bring them up
            if db.get_bind().dialect.name == "postgresql":
                db.execute(sql("ANALYZE results"))
        text = Metrics(h.sessions).render().decode()
    age = sample(text, 'fernwart_table_oldest_row_age_seconds{table="results"}')
    assert 2 * 86400 <= age < 2 * 86400 + 3600
    assert sample(text, 'fernwart_table_rows{table="results"}') == 2
    assert 'fernwart_table_oldest_row_age_seconds{table="metric_rollups"}' not in text  # empty: no age
    if "postgresql" in database_url:
        assert sample(text, 'fernwart_table_bytes{table="results"}') > 0
