"""PostgreSQL-only robustness: a database that drops every connection, and two collectors on one database."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from fernwart.collector.models import Notification, Ticket
from fernwart.collector.services import contracts, escalation
from tests.collector.helpers import harness, result

pytestmark = pytest.mark.postgres
CONTRACT = Path(__file__).parent / "domain" / "example_contract.yaml"


def kill_connections(url: str) -> int:
    """Terminate every other connection to the test database, as a server restart would."""
    engine = create_engine(url)
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    engine.dispose()
    return int(killed)


def test_collector_keeps_ingesting_after_the_database_dropped_its_connections(pg_url: str) -> None:
    with harness(pg_url) as h:
        h.enroll("web01")
        assert h.report("web01", [result("disk", 0, h.clock.advance(seconds=1))]).status_code == 200
        assert kill_connections(pg_url) >= 1
        after = h.report("web01", [result("disk", 2, h.clock.advance(seconds=1), max_attempts=1)])
        assert after.status_code == 200, after.text
        assert h.client.get("/healthz").json()["database"] == "ok"
        assert len(h.get("/api/v1/tickets")) == 1


def test_two_collectors_never_open_the_same_ticket_or_queue_the_same_page_twice(pg_url: str) -> None:
    with harness(pg_url) as first, harness(pg_url, admin_name="admin2") as second:
        document, _ = contracts.parse_document(CONTRACT.read_text())
        with first.sessions() as db:
            contracts.apply(db, document, "test", first.clock.now)
            db.commit()
        host_id, token = first.enroll("erp01", customer="Muster GmbH")
        second.hosts["erp01"] = (host_id, token)
        errors: list[str] = []

        def flap(h: object, offset: int) -> None:
            for i in range(15):  # fail, recover, fail ... from both collectors at once
                at = first.clock.now + timedelta(seconds=10 * i + offset)
                r = h.report("erp01", [result("erp-db", 2 if i % 2 == 0 else 0, at, max_attempts=1)])  # type: ignore[attr-defined]
                if r.status_code != 200:
                    errors.append(r.text)

        threads = [threading.Thread(target=flap, args=(h, k)) for k, h in enumerate((first, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with first.sessions() as db:
            open_count = db.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.open_key.is_not(None))
            )
            assert open_count is not None and open_count <= 1

        # Both collectors run the SLA job at the same moment, twice: every page exists once.
        first.clock.advance(hours=3)
        barrier = threading.Barrier(2)

        def job(h: object) -> None:
            barrier.wait()
            with h.sessions() as db:  # type: ignore[attr-defined]
                escalation.run(db, first.clock.now)
                db.commit()

        for _ in range(2):
            runners = [threading.Thread(target=job, args=(h,)) for h in (first, second)]
            for t in runners:
                t.start()
            for t in runners:
                t.join()
        with first.sessions() as db:
            keys = db.scalars(select(Notification.dedupe_key)).all()
        assert len(keys) == len(set(keys)) and len(keys) >= 1
