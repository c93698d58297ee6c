"""Auto-diagnosis through the real API: a ticket opening queues the named diagnostic playbook once, as
`system`, with parameters from the check; its output lands in the ticket's history; never a repair,
never inside a maintenance window."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from fernwart.agent.playbooks.library import held_entry, load_library
from fernwart.checks.status import Status
from fernwart.collector.models import Host, Job, Ticket, TicketEvent
from fernwart.collector.services import auto_diagnosis, tickets
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.helpers import Harness, harness, result
from tests.support import REPO

HELD = [held_entry(p) for p in load_library(REPO / "playbooks").playbooks.values()]


def agent(h: Harness, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {h.hosts[name][1]}"}


def setup(h: Harness, checks: list[dict[str, Any]], name: str = "web01") -> str:
    host_id, _ = h.enroll(name, CUSTOMER)
    r = h.client.put("/api/v1/agent/playbooks", json={"playbooks": HELD, "checks": checks},
                     headers=agent(h, name))
    assert r.status_code == 204, r.text
    return host_id


def fail(h: Harness, check: str, name: str = "web01") -> dict[str, Any]:
    """Report one HARD CRITICAL result of `check`; return the ticket it opened."""
    r = h.report(name, [result(check, 2, h.clock.now, max_attempts=1)])
    assert r.status_code == 200, r.text
    tickets = h.get("/api/v1/tickets", state="open")
    return next(t for t in tickets if t["check"] == check)  # type: ignore[no-any-return]


def history(h: Harness, ticket_id: int) -> list[dict[str, Any]]:
    return h.get(f"/api/v1/tickets/{ticket_id}")["events"]  # type: ignore[no-any-return]


DISK = {"name": "disk-var", "type": "disk", "on_ticket": "disk-full", "options": {"mounts": "/var"}}


def test_a_ticket_opening_runs_the_checks_playbook_and_its_output_lands_in_the_history(
    database_url: str,
) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        host_id = setup(h, [DISK])
        ticket = fail(h, "disk-var")
        jobs = h.get(f"/api/v1/hosts/{host_id}/jobs")
        assert [(j["playbook"], j["requested_by"], j["ticket_id"], j["params"]["mount"]) for j in jobs] == [
            ("disk-full", "system", ticket["id"], "/var")]
        assert any("auto-diagnosis: disk-full v1 queued" in e["message"] for e in history(h, ticket["id"]))
        job = h.client.get("/api/v1/agent/jobs", headers=agent(h, "web01")).json()
        assert job["id"] == jobs[0]["id"] and job["params"]["mount"] == "/var"
        body = {"id": str(uuid.uuid4()), "state": "succeeded", "duration": 0.5,
                "steps": [{"name": "usage", "kind": "collect", "status": "ok", "output": "/var 97% full",
                           "duration": 0.1, "truncated": False, "exit_code": None}]}
        r = h.client.post(f"/api/v1/agent/jobs/{job['id']}/result", json=body, headers=agent(h, "web01"))
        assert r.status_code == 200, r.text
        diagnostic = [e for e in history(h, ticket["id"]) if "/var 97% full" in e["message"]]
        assert len(diagnostic) == 1 and diagnostic[0]["actor"] == "system"
        assert {(a["actor"], a["action"]) for a in h.get("/api/v1/audit")} == {
            ("system", "queued"), ("system", "finished")}
        fail(h, "disk-var")  # a further failure of the open ticket is no new opening
        assert len(h.get(f"/api/v1/hosts/{host_id}/jobs")) == 1


def test_a_contract_names_the_playbook_by_check_glob_with_its_parameters(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract(on_ticket=[{"check": "svc-*", "playbook": "service-down", "params": {"lines": 20}},
                                     {"check": "*", "playbook": "host-overview"}]))
        host_id = setup(h, [{"name": "svc-nginx", "type": "service", "options": {"unit": "nginx.service"}},
                            {"name": "load", "type": "load"}])
        fail(h, "svc-nginx")
        fail(h, "load")
        fail(h, "unreported")  # a check the agent did not report: nothing to take parameters from
        jobs = sorted((j["playbook"], j["params"].get("unit"), j["params"].get("lines"))
                      for j in h.get(f"/api/v1/hosts/{host_id}/jobs"))
        assert jobs == [("host-overview", None, None), ("service-down", "nginx.service", 20)]


def test_no_repair_no_window_no_bad_parameters_and_the_history_says_why(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract(maintenance_windows=[{"name": "patch", "every": "sun 09:00-11:00",
                                                "scope": "check:in-window"}]))
        host_id = setup(h, [
            {"name": "repair", "type": "service", "on_ticket": "restart-service",
             "options": {"unit": "a.service"}},
            {"name": "in-window", "type": "disk", "on_ticket": "disk-full", "options": {"path": "/"}},
            {"name": "bad-path", "type": "disk", "on_ticket": "disk-full", "options": {"path": "/../etc"}},
            {"name": "unheld", "type": "disk", "on_ticket": "no-such-playbook"},
        ])
        reasons = {}
        for check in ("repair", "in-window", "bad-path", "unheld"):
            r = h.report("web01", [result(check, 2, h.clock.now, max_attempts=1)])
            assert r.status_code == 200
        with h.sessions() as db:
            for ticket in db.scalars(select(Ticket)):
                events = db.scalars(select(TicketEvent.message).where(TicketEvent.ticket_id == ticket.id))
                reasons[ticket.check_name] = " ".join(m for m in events if "auto-diagnosis" in m)
        assert h.get(f"/api/v1/hosts/{host_id}/jobs") == []
        assert "only diagnostic playbooks" in reasons["repair"]
        assert "in-window" not in reasons  # ingest opens no ticket inside a window
        with h.sessions() as db:  # a ticket opened for it anyway (by the sweep, say) runs nothing either
            host = db.get(Host, host_id)
            assert host is not None
            opened = tickets.open_ticket(db, host, "in-window", Status.CRITICAL, "full", h.clock.now,
                                         h.clock.now)
            db.commit()
            notes = db.scalars(select(TicketEvent.message).where(TicketEvent.ticket_id == opened.id)).all()
        assert any("not run: inside maintenance window 'patch'" in n for n in notes), notes
        assert "parameters" in reasons["bad-path"] and "not held" not in reasons["bad-path"]
        assert "does not hold it" in reasons["unheld"]


def test_one_opening_never_queues_two_runs(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        setup(h, [DISK])
        ticket_id = fail(h, "disk-var")["id"]
        with h.sessions() as db:
            ticket = db.get(Ticket, ticket_id)
            assert ticket is not None
            host = db.get(Host, ticket.host_id)
            opening = db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                           TicketEvent.kind == "opened")).one()
            assert host is not None
            auto_diagnosis.after_opening(db, ticket, host, opening, h.clock.now)  # the same opening again
            db.commit()
            assert db.scalar(select(func.count()).select_from(Job)) == 1
        h.report("web01", [result("disk-var", 0, h.clock.advance(minutes=1), max_attempts=1)])  # recovers
        fail(h, "disk-var")  # reopened within the reopen window: a new opening, a new run
        with h.sessions() as db:
            assert db.scalar(select(func.count()).select_from(Job)) == 2


def test_a_bad_contract_rule_is_refused_naming_its_place(database_url: str) -> None:
    with harness(database_url) as h:
        r = h.client.put("/api/v1/contracts", headers=h.auth,
                         json=contract(on_ticket=[{"check": "disk*", "playbook": "disk-full", "when": "x"}]))
        assert r.status_code == 422
        assert "on_ticket: [0].when: unknown key" in r.text
