"""Playbook jobs through the real API: queue, deliver once, result once, refusals, audit, expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fernwart.agent.playbooks.library import held_entry, load_library
from fernwart.collector.services import auth
from tests.collector.helpers import Harness, harness
from tests.support import REPO

HELD = [held_entry(p) for p in load_library(REPO / "playbooks").playbooks.values()]


def agent(h: Harness, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {h.hosts[name][1]}"}


def setup(h: Harness, name: str = "web01", allow_repairs: bool = False) -> str:
    host_id, _ = h.enroll(name)
    r = h.client.put("/api/v1/agent/playbooks", json={"allow_repairs": allow_repairs, "playbooks": HELD},
                     headers=agent(h, name))
    assert r.status_code == 204, r.text
    return host_id


def user(h: Harness, role: str, customer: str | None = None) -> dict[str, str]:
    with h.sessions() as db:
        token = auth.create_user(db, f"{role}-{uuid.uuid4().hex[:6]}", role, h.clock.now, customer)
        db.commit()
    return {"Authorization": f"Bearer {token}"}


def result(state: str = "succeeded", rid: str | None = None) -> dict[str, Any]:
    return {"id": rid or str(uuid.uuid4()), "state": state, "duration": 1.5,
            "steps": [{"name": "mounts", "kind": "collect", "status": "ok", "output": "/ 42%",
                       "duration": 0.1, "truncated": False, "exit_code": None}]}


def test_a_job_is_delivered_once_and_its_result_stored_once(database_url: str) -> None:
    with harness(database_url) as h:
        host_id = setup(h)
        r = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "disk-full", "params": {"depth": "3"}})
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["state"] == "queued" and job["params"] == {"mount": "/", "depth": 3}
        assert job["expires_at"] > job["created_at"]
        first = h.client.get("/api/v1/agent/jobs", headers=agent(h, "web01"))
        assert first.status_code == 200 and first.json()["hash"] == job["digest"]
        assert h.client.get("/api/v1/agent/jobs", headers=agent(h, "web01")).status_code == 204  # once
        running = h.client.post(f"/api/v1/agent/jobs/{job['id']}/running", headers=agent(h, "web01"))
        assert running.status_code == 204
        body = result()
        stored = h.client.post(f"/api/v1/agent/jobs/{job['id']}/result", json=body, headers=agent(h, "web01"))
        assert stored.json() == {"stored": True, "duplicate": False}
        again = h.client.post(f"/api/v1/agent/jobs/{job['id']}/result", json=body, headers=agent(h, "web01"))
        assert again.json() == {"stored": False, "duplicate": True}
        done = h.get(f"/api/v1/jobs/{job['id']}")
        assert [e["state"] for e in done["events"]] == ["queued", "delivered", "running", "succeeded"]
        assert done["result"]["steps"][0]["output"] == "/ 42%"
        audit = h.get("/api/v1/audit")
        assert [a["action"] for a in audit] == ["finished", "queued"]
        assert audit[1]["playbook"] == "disk-full" and audit[1]["hash"] == job["digest"]


def test_bad_input_is_refused_and_nothing_is_queued(database_url: str) -> None:
    with harness(database_url) as h:
        host_id = setup(h)
        for body, status, text in [
            ({"playbook": "nosuch"}, 422, "does not hold a playbook 'nosuch'"),
            ({"playbook": "disk-full", "params": {"mount": "/../etc"}}, 422, "not a normalised path"),
            ({"playbook": "disk-full", "params": {"depth": "9"}}, 422, "from 1 to 4"),
            ({"playbook": "service-down", "params": {"unit": "x; rm -rf /"}}, 422, "does not match"),
            ({"playbook": "disk-full", "params": {"evil": "1"}}, 422, "unknown parameter"),
            ({"playbook": "restart-service", "params": {"unit": "a.service"}}, 403, "full maintenance"),
        ]:
            r = h.post(f"/api/v1/hosts/{host_id}/jobs", body)
            assert (r.status_code, text in r.json()["error"]) == (status, True), r.text
        assert h.get(f"/api/v1/hosts/{host_id}/jobs") == []
        assert [a["action"] for a in h.get("/api/v1/audit")] == ["refused"]


def test_customers_run_nothing_and_level1_runs_no_repair(database_url: str) -> None:
    with harness(database_url) as h:
        host_id = setup(h, allow_repairs=True)
        customer = user(h, "level1", customer="Muster GmbH")
        jobs = f"/api/v1/hosts/{host_id}/jobs"
        r = h.client.post(jobs, json={"playbook": "host-overview"}, headers=customer)
        assert r.status_code in (403, 404)
        level1 = user(h, "level1")
        ok = h.client.post(jobs, json={"playbook": "host-overview"}, headers=level1)
        assert ok.status_code == 201
        repair = h.client.post(jobs, json={"playbook": "rotate-logs"}, headers=level1)
        assert repair.status_code == 403


def test_a_queued_job_expires_or_is_cancelled(database_url: str) -> None:
    with harness(database_url) as h:
        host_id = setup(h)
        one = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "high-load", "expires_in": 60}).json()
        two = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "high-load"}).json()
        assert h.post(f"/api/v1/jobs/{two['id']}/cancel").json()["state"] == "cancelled"
        assert h.post(f"/api/v1/jobs/{two['id']}/cancel").status_code == 409
        h.clock.advance(seconds=61)
        assert h.client.get("/api/v1/agent/jobs", headers=agent(h, "web01")).status_code == 204
        assert h.get(f"/api/v1/jobs/{one['id']}")["state"] == "expired"


def test_the_periodic_sweep_expires_a_job_for_an_agent_that_never_came(database_url: str) -> None:
    from fernwart.collector.domain.tickets import TicketPolicy
    from fernwart.collector.jobs import run_sweep

    with harness(database_url) as h:
        host_id = setup(h)
        job = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "high-load"}).json()
        run_sweep(h.sessions, h.clock.now + timedelta(hours=23), timedelta(seconds=10), TicketPolicy())
        assert h.get(f"/api/v1/jobs/{job['id']}")["state"] == "queued"
        run_sweep(h.sessions, h.clock.now + timedelta(hours=24), timedelta(seconds=10), TicketPolicy())
        done = h.get(f"/api/v1/jobs/{job['id']}")
        assert [e["state"] for e in done["events"]] == ["queued", "expired"]
