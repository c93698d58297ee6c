"""The availability service on real databases: HARD history only, one state-change query, outage tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from fernwart.collector.services import availability
from tests.collector.api.contract_helpers import CUSTOMER, OCT, apply, contract, history
from tests.collector.helpers import BACKFILL, T0, Harness, harness, result

pytestmark = pytest.mark.usefixtures("database_url")
NOV = OCT + timedelta(days=31)


def _report(h: Harness) -> availability.CustomerAvailability:
    with h.sessions() as db:
        return availability.report(db, CUSTOMER, OCT, NOV, T0)


def test_soft_failures_are_not_downtime(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        h.enroll("web01", CUSTOMER)
        at = OCT + timedelta(days=3)
        soft = [result("app", status, at + timedelta(minutes=i), max_attempts=3)
                for i, status in enumerate((0, 2, 2, 0, 2, 2, 2, 0))]  # two soft failures, then a hard one
        assert h.report("web01", soft).status_code == 200
        found = _report(h)
    [outage] = found.report.outages
    assert (outage.start, outage.end) == (at + timedelta(minutes=6), at + timedelta(minutes=7))
    assert found.report.figures.downtime_seconds == 60


def test_state_changes_of_all_hosts_come_in_one_query(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        for name in ("web01", "web02", "web03", "db01"):
            h.enroll(name, CUSTOMER)
            history(h, name, "app", [(OCT - timedelta(days=1), 0), (OCT + timedelta(days=2), 2),
                                     (OCT + timedelta(days=2, minutes=5), 0)])
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = h.sessions.kw["bind"]
        event.listen(engine, "before_cursor_execute", record)
        try:
            found = _report(h)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "FROM state_changes" in s]) == 1
    assert [host.host for host in found.report.hosts] == ["db01", "web01", "web02", "web03"]
    assert found.report.figures.downtime_seconds == 4 * 300


def test_only_tickets_of_the_outages_objects_and_time_are_attached(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract(availability={"target": 99, "counts": ["host", "check:app"]}))
        h.enroll("web01", CUSTOMER)
        first, second = OCT + timedelta(days=1), OCT + timedelta(days=20)
        history(h, "web01", "app", [(OCT, 0), (first, 2), (first + timedelta(hours=1), 0),
                                    (second, 2), (second + timedelta(hours=1), 0)])
        history(h, "web01", "backup", [(OCT, 0), (first, 2), (first + timedelta(hours=1), 0)])  # not counted
        found = _report(h)
        tickets = {(t["check"], t["opened_at"]): t["id"] for t in h.get("/api/v1/tickets", state="all")}
    assert [o.objects for o in found.report.outages] == [("app",), ("app",)]
    assert [[t.id for t in refs] for refs in found.tickets] == [
        [tickets[("app", "2026-10-02T00:00:00Z")]], [tickets[("app", "2026-10-21T00:00:00Z")]]
    ]
