"""Ticket rules as Nagios and Checkmk users expect them (issue 12 section 5), on a real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.jobs import run_sweep
from fernwart.collector.metrics import Metrics
from fernwart.collector.models import MaintenanceLog, Notification, Ticket
from fernwart.collector.services import contracts, staleness, windows
from tests.collector.helpers import T0, Harness, harness, result
from tests.collector.services.test_tickets_sla import CONTRACT, apply_contract, run_job
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


def test_a_check_still_failing_when_its_window_ends_gets_its_ticket_then(database_url: str) -> None:
    with harness(database_url) as h:
        apply_contract(h)
        h.enroll("erp01", customer="Muster GmbH")
        end = T0 + timedelta(minutes=30)
        with h.sessions() as db:
            windows.add(db, customer="Muster GmbH", name="disk swap", scope="host:erp01",
                        starts_at=T0, ends_at=end, reason="replacing a disk", actor="admin", now=T0)
            db.commit()
        h.report("erp01", [result("erp-db", 2, h.clock.advance(minutes=1), max_attempts=1)])
        h.clock.advance(minutes=10)
        assert run_sweep(h.sessions, h.clock.now, INTERVAL, TicketPolicy())
        assert h.get("/api/v1/tickets") == []  # the window is still open
        h.clock.now = end + timedelta(seconds=7)  # the agent has not reported since the window ended
        assert run_sweep(h.sessions, h.clock.now, INTERVAL, TicketPolicy())
        assert run_sweep(h.sessions, h.clock.now + INTERVAL, INTERVAL, TicketPolicy())  # twice: idempotent
        [ticket] = h.get("/api/v1/tickets")
        iso = end.isoformat().replace("+00:00", "Z")
        assert ticket["opened_at"] == iso
        assert ticket["response_due"] == (end + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
        assert "disk swap" in h.get(f"/api/v1/tickets/{ticket['id']}")["events"][0]["message"]
        with h.sessions() as db:
            log = db.scalars(select(MaintenanceLog.kind).order_by(MaintenanceLog.id)).all()
            pages = db.scalars(select(Notification.kind)).all()
        assert log == ["created", "ticket_suppressed", "ticket_opened_after_window"]
        assert pages == ["ticket_opened"]
        h.report("erp01", [result("erp-db", 2, h.clock.advance(minutes=1), max_attempts=1)])
        assert [t["id"] for t in h.get("/api/v1/tickets")] == [ticket["id"]]


def test_a_ticket_keeps_the_contract_terms_it_was_opened_under(database_url: str) -> None:
    with harness(database_url) as h:
        apply_contract(h)
        h.enroll("erp01", customer="Muster GmbH")
        h.report("erp01", [result("erp-db", 2, h.clock.now, "database down", max_attempts=1)])
        old = h.get("/api/v1/tickets")[0]
        assert old["resolution_due"] == (T0 + timedelta(hours=4)).isoformat().replace("+00:00", "Z")
        strict = CONTRACT.read_text().replace(
            "P1: {response: 30m, resolution: 4h", "P1: {response: 1m, resolution: 2m"
        )
        document, _ = contracts.parse_document(strict)
        h.clock.advance(minutes=5)
        with h.sessions() as db:
            contracts.apply(db, document, "test", h.clock.now)
            db.commit()
        outcome = run_job(h)
        assert (outcome.breaches, outcome.escalations) == (0, 0)  # still under the 30 min / 4 h terms
        kept = h.get(f"/api/v1/tickets/{old['id']}")
        assert (kept["resolution_due"], kept["level"]) == (old["resolution_due"], 1)
        h.report("erp01", [result("web", 2, h.clock.now, "web down", max_attempts=1)])
        new = next(t for t in h.get("/api/v1/tickets") if t["check"] == "web")
        due = (h.clock.now + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
        assert new["resolution_due"] == due  # a ticket opened after the change runs under the new terms
        with h.sessions() as db:
            revisions = dict(db.execute(select(Ticket.check_name, Ticket.contract_revision)).all())
        assert revisions == {"erp-db": 1, "web": 2}


def test_checks_of_an_unreachable_host_are_stale_and_open_no_tickets_of_their_own(
    database_url: str,
) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        sweep(h)
        last = h.clock.advance(seconds=1)
        h.report("web01", [result("disk", 0, last)], heartbeat_interval=10)
        for _ in range(4):
            h.clock.advance(seconds=10)
            sweep(h)
        assert h.get("/api/v1/hosts")[0]["state"] == "unreachable"
        checks = {c["check"]: c for c in h.get(f"/api/v1/hosts/{host_id}/checks")}
        assert checks["disk"]["stale"] and not checks["host"]["stale"]
        assert checks["disk"]["last_observed_at"] == last.isoformat().replace("+00:00", "Z")
        # the agent comes back and replays a failure from while it was cut off: no ticket of its own
        replayed = result("disk", 2, h.clock.now - timedelta(seconds=5), max_attempts=1)
        h.report("web01", [replayed])
        assert [t["check"] for t in h.get("/api/v1/tickets", state="all")] == ["host"]
        assert not {c["check"]: c for c in h.get(f"/api/v1/hosts/{host_id}/checks")}["disk"]["stale"]
        # still failing once the host is up: now the check's own ticket opens
        h.report("web01", [result("disk", 2, h.clock.advance(seconds=5), max_attempts=1)])
        assert sorted(t["check"] for t in h.get("/api/v1/tickets", state="all")) == ["disk", "host"]
