"""Tickets under a contract: priority, SLA clocks, escalation, maintenance windows, notifications."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fernwart.collector.models import MaintenanceLog, Notification
from fernwart.collector.services import contracts, escalation, windows
from tests.collector.helpers import T0, Harness, harness, result

CONTRACT = Path(__file__).parent.parent / "domain" / "example_contract.yaml"


def apply_contract(h: Harness) -> None:
    document, _ = contracts.parse_document(CONTRACT.read_text())
    with h.sessions() as db:
        contracts.apply(db, document, "test", h.clock.now)
        db.commit()


def run_job(h: Harness) -> escalation.JobOutcome:
    with h.sessions() as db:
        outcome = escalation.run(db, h.clock.now)
        db.commit()
    return outcome


def queued(h: Harness) -> list[tuple[str, int | None, str]]:
    with h.sessions() as db:
        rows = db.scalars(select(Notification).order_by(Notification.id)).all()
        return [(n.kind, n.level, n.target) for n in rows]


def fail(h: Harness, host: str, check: str = "erp-db") -> dict[str, Any]:
    r = h.report(host, [result(check, 2, h.clock.now, "database down", max_attempts=1)])
    assert r.status_code == 200, r.text
    return dict(h.get("/api/v1/tickets")[0])


def test_p1_ticket_gets_due_times_escalates_warns_and_breaches(database_url: str) -> None:
    with harness(database_url) as h:
        apply_contract(h)
        h.enroll("erp01", customer="Muster GmbH")
        ticket = fail(h, "erp01")
        assert h.get("/api/v1/hosts")[0]["criticality"] == "high"  # from the contract at enrollment
        assert (ticket["priority"], ticket["impact"], ticket["urgency"], ticket["level"]) == (
            "P1",
            "high",
            "critical",
            1,
        )
        assert ticket["response_due"] == (T0 + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
        assert ticket["resolution_due"] == (T0 + timedelta(hours=4)).isoformat().replace("+00:00", "Z")
        assert queued(h) == [("ticket_opened", 1, "servicedesk@provider.example")]

        h.clock.advance(minutes=25)  # 83% of the 30 min response time: warning, no breach yet
        outcome = run_job(h)
        assert (outcome.warnings, outcome.breaches, outcome.escalations) == (1, 0, 0)
        h.clock.advance(minutes=10)  # response breached at exactly T0 + 30 min
        assert run_job(h).breaches == 1
        detail = h.get(f"/api/v1/tickets/{ticket['id']}")
        assert detail["response_breached_at"] == (T0 + timedelta(minutes=30)).isoformat().replace(
            "+00:00", "Z"
        )
        assert [e["kind"] for e in detail["events"]] == ["opened", "sla_warning", "sla_breached"]

        h.clock.advance(hours=1, minutes=30)  # 2 h 5 min: past 50% of the 4 h resolution time
        assert run_job(h).escalations == 1
        assert h.get(f"/api/v1/tickets/{ticket['id']}")["level"] == 2
        assert ("escalated", 2, "second-level@provider.example") in queued(h)
        before = queued(h)
        assert run_job(h).queued == 0 and queued(h) == before  # nothing is sent twice

        ack = h.post(f"/api/v1/tickets/{ticket['id']}/acknowledge")
        assert ack.json()["response_attainment_minutes"] < 0  # acknowledged after the due time


def test_waiting_for_the_customer_pauses_the_clocks(database_url: str) -> None:
    with harness(database_url) as h:
        apply_contract(h)
        h.enroll("erp01", customer="Muster GmbH")
        ticket = fail(h, "erp01")
        tid = ticket["id"]
        h.clock.advance(minutes=10)
        assert h.post(f"/api/v1/tickets/{tid}/start").json()["state"] == "in_progress"
        assert h.post(f"/api/v1/tickets/{tid}/wait", {"message": "waiting for VPN access"}).status_code == 200
        h.clock.advance(hours=1)
        resumed = h.post(f"/api/v1/tickets/{tid}/resume").json()
        assert resumed["state"] == "in_progress"
        assert resumed["resolution_due"] == (T0 + timedelta(hours=5)).isoformat().replace("+00:00", "Z")
        assert resumed["response_attainment_minutes"] == 20  # acknowledged after 10 of 30 minutes
        h.clock.advance(minutes=50)
        done = h.post(f"/api/v1/tickets/{tid}/resolve", {"message": "restored"}).json()
        assert done["resolution_attainment_minutes"] == 4 * 60 - 60  # 1 h of 4 h used (the wait not counted)
        assert h.post(f"/api/v1/tickets/{tid}/close").json()["state"] == "closed"
        assert h.post(f"/api/v1/tickets/{tid}/reopen").status_code == 409


def test_hand_back_is_not_undone_by_the_next_escalation_run(database_url: str) -> None:
    with harness(database_url) as h:
        apply_contract(h)
        h.enroll("erp01", customer="Muster GmbH")
        tid = fail(h, "erp01")["id"]
        h.clock.advance(hours=2, minutes=1)
        run_job(h)
        assert (
            h.post(f"/api/v1/tickets/{tid}/handback", {"message": "level 1 can fix it"}).json()["level"] == 1
        )
        h.clock.advance(minutes=5)
        run_job(h)
        assert h.get(f"/api/v1/tickets/{tid}")["level"] == 1
        h.clock.advance(hours=1, minutes=35)  # past 90%: a new step falls due after the hand-back
        run_job(h)
        assert h.get(f"/api/v1/tickets/{tid}")["level"] == 3
        escalated = h.post(f"/api/v1/tickets/{tid}/escalate")
        assert escalated.status_code == 409 and "highest level" in escalated.json()["error"]


def test_no_ticket_and_no_page_inside_a_maintenance_window(database_url: str) -> None:
    with harness(database_url) as h:
        apply_contract(h)
        h.enroll("erp01", customer="Muster GmbH")
        with h.sessions() as db:
            windows.add(
                db,
                customer="Muster GmbH",
                name="disk swap",
                scope="host:erp01",
                starts_at=T0 - timedelta(minutes=5),
                ends_at=T0 + timedelta(hours=1),
                reason="replacing a disk",
                actor="admin",
                now=h.clock.now,
            )
            db.commit()
        h.report("erp01", [result("erp-db", 2, h.clock.advance(minutes=1), max_attempts=1)])
        assert h.get("/api/v1/tickets", state="all") == []
        assert queued(h) == []
        rows = h.get(f"/api/v1/hosts/{h.hosts['erp01'][0]}/results")
        assert [r["status_name"] for r in rows] == ["CRITICAL"]  # the result is stored all the same
        with h.sessions() as db:
            kinds = db.execute(select(MaintenanceLog.kind, func.count()).group_by(MaintenanceLog.kind)).all()
        assert dict(kinds) == {"created": 1, "ticket_suppressed": 1}
        h.report("erp01", [result("erp-db", 0, h.clock.advance(hours=2))])
        h.report("erp01", [result("erp-db", 2, h.clock.advance(minutes=1), max_attempts=1)])
        assert len(h.get("/api/v1/tickets")) == 1  # after the window, failures open tickets again


def test_ticket_without_contract_has_no_sla(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("lonely")
        ticket = fail(h, "lonely", "disk")
        assert ticket["priority"] is None and ticket["response_due"] is None
        assert run_job(h).queued == 0
