"""Ticket rules as Nagios and Checkmk users expect them (issue 12 section 5), on a real database."""

from __future__ import annotations

from datetime import timedelta

from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.metrics import Metrics
from fernwart.collector.services import staleness
from tests.collector.helpers import Harness, harness, result
from tests.collector.test_metrics import sample

INTERVAL = timedelta(seconds=10)


def sweep(h: Harness) -> tuple[str, ...]:
    with h.sessions() as db:
        outcome = staleness.sweep(db, h.clock.now, INTERVAL, TicketPolicy())
        db.commit()
    return outcome.marked


def test_tickets_opened_total_counts_openings_by_the_staleness_sweep(database_url: str) -> None:
    with harness(database_url) as h:
        metrics = Metrics(h.sessions)
        host_id, _ = h.enroll("web01")
        sweep(h)
        h.report("web01", [], heartbeat_interval=10)
        marked: list[str] = []
        for _ in range(4):  # sweeping every 10 s; stale after 3 heartbeats of 10 s
            h.clock.advance(seconds=10)
            marked += sweep(h)
        assert marked == [host_id]
        assert [t["check"] for t in h.get("/api/v1/tickets")] == ["host"]
        assert sample(metrics.render().decode(), "fernwart_tickets_opened_total") == 1


def test_occurrences_count_failure_episodes_not_results(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        for _ in range(12):  # one HARD CRITICAL episode reported twelve times
            h.report("web01", [result("disk", 2, h.clock.advance(seconds=5), max_attempts=1)])
        ticket = h.get("/api/v1/tickets")[0]
        assert ticket["occurrences"] == 1
        h.report("web01", [result("disk", 1, h.clock.advance(seconds=5), max_attempts=1)])  # HARD WARNING
        h.report("web01", [result("disk", 2, h.clock.advance(seconds=5), max_attempts=1)])  # HARD CRITICAL
        ticket = h.get("/api/v1/tickets")[0]
        assert ticket["occurrences"] == 3  # three HARD problem changes on this ticket


def test_a_ticket_resolved_by_hand_while_failing_comes_back_on_the_next_hard_result(
    database_url: str,
) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        h.report("web01", [result("disk", 2, h.clock.advance(seconds=5), max_attempts=1)])
        first = h.get("/api/v1/tickets")[0]
        assert h.post(f"/api/v1/tickets/{first['id']}/resolve", {"message": "fixed?"}).status_code == 200
        assert h.get("/api/v1/tickets") == []
        h.report("web01", [result("disk", 2, h.clock.advance(seconds=5), max_attempts=1)])
        tickets = h.get("/api/v1/tickets")
        assert [t["id"] for t in tickets] == [first["id"]]  # reopened: within the reopen window
        events = h.get(f"/api/v1/tickets/{first['id']}")["events"]
        assert [e["kind"] for e in events][-2:] == ["resolved", "reopened"]
