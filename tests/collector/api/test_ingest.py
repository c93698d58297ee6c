"""Ingest and ticket behaviour through the real API on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from fernwart.collector.services import contracts
from tests.collector.helpers import Harness, harness, result


def checks_of(h: Harness, name: str) -> dict[str, Any]:
    return {c["check"]: c for c in h.get(f"/api/v1/hosts/{h.hosts[name][0]}/checks")}


def test_hard_failure_opens_one_ticket_and_recovery_resolves_it(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        t = h.clock.now
        for i in range(5):
            r = h.report("web01", [result("disk", 2, h.clock.advance(seconds=60), "disk full")])
            assert r.status_code == 200, r.text
            state = checks_of(h, "web01")["disk"]
            if i < 2:
                assert (state["state_type"], state["attempt"]) == ("SOFT", i + 1)
                assert h.get("/api/v1/tickets") == []
        assert state["state_type"] == "HARD" and state["status_name"] == "CRITICAL"
        open_tickets = h.get("/api/v1/tickets", state="open")
        assert len(open_tickets) == 1
        ticket = open_tickets[0]
        assert ticket["check"] == "disk" and ticket["state"] == "new" and ticket["host"] == "web01"
        assert ticket["occurrences"] == 1  # one failure episode, however many results repeat it
        h.report("web01", [result("disk", 0, h.clock.advance(seconds=60), "disk fine")])
        assert h.get("/api/v1/tickets") == []
        done = h.get(f"/api/v1/tickets/{ticket['id']}")
        assert done["state"] == "resolved"
        assert [e["kind"] for e in done["events"]] == ["opened", "recovered", "resolved"]
        assert t < h.clock.now


def test_recurrence_within_window_reopens_and_later_opens_new(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("db01")
        h.report("db01", [result("pg", 2, h.clock.advance(seconds=1), max_attempts=1)])
        first = h.get("/api/v1/tickets")[0]["id"]
        h.report("db01", [result("pg", 0, h.clock.advance(seconds=60))])
        h.report("db01", [result("pg", 2, h.clock.advance(minutes=10), max_attempts=1)])
        again = h.get("/api/v1/tickets")
        assert [t["id"] for t in again] == [first]
        assert "reopened" in [e["kind"] for e in h.get(f"/api/v1/tickets/{first}")["events"]]
        for _ in range(21):  # a steady run: a fifth HARD change among 21 results would be flapping
            h.report("db01", [result("pg", 0, h.clock.advance(seconds=60))])
        h.report("db01", [result("pg", 2, h.clock.advance(hours=3), max_attempts=1)])
        newest = h.get("/api/v1/tickets")
        assert len(newest) == 1 and newest[0]["id"] != first


def test_resent_batch_is_stored_once(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        batch = [result("disk", 2, h.clock.advance(seconds=i + 1), max_attempts=2) for i in range(3)]
        assert h.report("web01", batch).json() == {"accepted": 3, "duplicates": 0}
        assert h.report("web01", batch).json() == {"accepted": 0, "duplicates": 3}
        assert h.report("web01", batch + batch[:1]).json() == {"accepted": 0, "duplicates": 4}
        state = checks_of(h, "web01")["disk"]
        assert state["attempt"] == 2 and state["state_type"] == "HARD"
        tickets = h.get("/api/v1/tickets")
        assert len(tickets) == 1 and tickets[0]["occurrences"] == 1


def test_late_result_is_history_and_does_not_move_state_back(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        late = h.clock.now
        h.report("web01", [result("disk", 0, h.clock.advance(minutes=5))])
        h.report("web01", [result("disk", 2, late, max_attempts=1)])
        assert checks_of(h, "web01")["disk"]["status_name"] == "OK"
        assert h.get("/api/v1/tickets") == []


def test_technician_acknowledges_comments_and_resolves(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        h.report("web01", [result("http", 2, h.clock.advance(seconds=1), max_attempts=1)])
        tid = h.get("/api/v1/tickets")[0]["id"]
        ack = h.post(f"/api/v1/tickets/{tid}/acknowledge", {"message": "on it"})
        assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
        assert h.post(f"/api/v1/tickets/{tid}/acknowledge").status_code == 409
        assert h.post(f"/api/v1/tickets/{tid}/comment", {"message": ""}).status_code == 422
        assert h.post(f"/api/v1/tickets/{tid}/comment", {"message": "restarted nginx"}).status_code == 200
        done = h.post(f"/api/v1/tickets/{tid}/resolve", {"message": "fixed"})
        assert done.json()["state"] == "resolved"
        kinds = [(e["kind"], e["actor"]) for e in done.json()["events"]]
        assert kinds == [
            ("opened", "system"),
            ("acknowledged", "admin"),
            ("comment", "admin"),
            ("resolved", "admin"),
        ]
        assert h.post(f"/api/v1/tickets/{tid}/resolve").status_code == 409
        assert h.post("/api/v1/tickets/999999/resolve").status_code == 404


def test_bad_input_answers(database_url: str) -> None:
    with harness(database_url, body_limit=4096) as h:
        host_id, token = h.enroll("web01")
        _, other_token = h.enroll("web02")
        auth = {"Authorization": f"Bearer {token}"}
        ok = {"host_id": host_id, "results": []}
        r = h.client.post("/api/v1/reports", json=ok)
        assert r.status_code == 401 and "error" in r.json()
        r = h.client.post("/api/v1/reports", json=ok, headers={"Authorization": "Bearer fwa_nope"})
        assert r.status_code == 401
        r = h.client.post("/api/v1/reports", json=ok, headers={"Authorization": f"Bearer {other_token}"})
        assert r.status_code == 403 and r.json() == {"error": "this agent token belongs to another host"}
        r = h.client.post(
            "/api/v1/reports", content=b"{not json", headers={**auth, "content-type": "application/json"}
        )
        assert r.status_code == 422 and r.json()["error"].startswith("malformed JSON")
        bad = {"host_id": host_id, "results": [{**result("disk", 7, h.clock.now)}]}
        r = h.client.post("/api/v1/reports", json=bad, headers=auth)
        assert r.status_code == 422 and r.json()["error"].startswith("results.0.status")
        reserved = {"host_id": host_id, "results": [result("host", 0, h.clock.now)]}
        assert "reserved" in h.client.post("/api/v1/reports", json=reserved, headers=auth).json()["error"]
        for sneaky in ("host\n", "disk\n", "disk\nx"):  # a pattern matched with re.match and $ let these in
            r = h.client.post(
                "/api/v1/reports", json={"host_id": host_id, "results": [result(sneaky, 2, h.clock.now)]},
                headers=auth,
            )
            assert r.status_code == 422 and r.json()["error"].startswith("results.0.check"), sneaky
        huge = {"host_id": host_id, "results": [result("disk", 0, h.clock.now, summary="x" * 4000)] * 2}
        r = h.client.post("/api/v1/reports", json=huge, headers=auth)
        assert r.status_code == 413 and "limit" in r.json()["error"]
        assert h.client.get("/api/v1/hosts").status_code == 401
        assert h.get("/api/v1/tickets", state="all") == []
        assert (
            h.client.get(
                "/api/v1/tickets",
                params={"state": "bogus"},
                headers={"Authorization": f"Bearer {h.admin_token}"},
            ).status_code
            == 422
        )


def test_enrollment_token_limits(database_url: str) -> None:
    from fernwart.collector.services import auth

    with harness(database_url) as h:
        with h.sessions() as db:
            once = auth.create_enrollment_token(db, h.clock.now, "Muster GmbH", uses=1)
            db.commit()
        body = {"token": once, "hostname": "erp01"}
        first = h.client.post("/api/v1/enroll", json=body)
        assert first.status_code == 201
        again = h.client.post("/api/v1/enroll", json=body)
        assert again.status_code == 401 and "used up" in again.json()["error"]
        bad = h.client.post("/api/v1/enroll", json={"token": "fwe_x", "hostname": "a"})
        assert bad.status_code == 401
        hosts = h.get("/api/v1/hosts")
        assert [(x["name"], x["customer"], x["state"]) for x in hosts] == [
            ("erp01", "Muster GmbH", "pending")
        ]


def test_customer_account_sees_only_its_hosts(database_url: str) -> None:
    from fernwart.collector.services import auth

    with harness(database_url) as h:
        h.enroll("a1", customer="Alpha")
        h.enroll("b1", customer="Beta")
        h.report("a1", [result("x", 2, h.clock.advance(seconds=1), max_attempts=1)])
        h.report("b1", [result("x", 2, h.clock.advance(seconds=1), max_attempts=1)])
        with h.sessions() as db:
            token = auth.create_user(db, "alpha-it", "level1", h.clock.now, customer="Alpha")
            db.commit()
        headers = {"Authorization": f"Bearer {token}"}
        hosts = h.client.get("/api/v1/hosts", headers=headers).json()
        assert [x["name"] for x in hosts] == ["a1"]
        tickets = h.client.get("/api/v1/tickets", headers=headers).json()
        assert [t["host"] for t in tickets] == ["a1"]
        beta_host = h.hosts["b1"][0]
        assert h.client.get(f"/api/v1/hosts/{beta_host}/checks", headers=headers).status_code == 404


def test_health_metrics_and_openapi(database_url: str) -> None:
    with harness(database_url, metrics_token="scrape-me") as h:
        h.enroll("web01")
        h.report("web01", [result("disk", 2, h.clock.advance(seconds=1), max_attempts=1)])
        assert h.client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        text = h.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).text
        assert "fernwart_results_ingested_total 1.0" in text
        assert "fernwart_open_tickets 1.0" in text
        assert 'fernwart_hosts{state="up"} 1.0' in text
        assert "fernwart_ingest_seconds_bucket" in text
        paths = h.client.get("/openapi.json").json()["paths"]
        assert {"/api/v1/reports", "/api/v1/enroll", "/api/v1/hosts", "/api/v1/tickets"} <= set(paths)


def test_heartbeat_marks_host_up(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        r = h.report("web01", [], heartbeat_interval=30)
        assert r.json() == {"accepted": 0, "duplicates": 0}
        host = h.get("/api/v1/hosts")[0]
        assert host["state"] == "up" and host["heartbeat_interval"] == 30
        assert checks_of(h, "web01")["host"]["status_name"] == "OK"
        assert uuid.UUID(host["id"])


def test_results_history_filters_by_check_and_time(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        t1, t2 = h.clock.advance(seconds=1), h.clock.advance(seconds=1)
        h.report("web01", [result("disk", 0, t1), result("load", 1, t1), result("disk", 2, t2, "full")])
        rows = h.get(f"/api/v1/hosts/{host_id}/results", check="disk")
        assert [(r["status_name"], r["summary"]) for r in rows] == [
            ("CRITICAL", "full"),
            ("OK", "disk status 0"),
        ]
        assert len(h.get(f"/api/v1/hosts/{host_id}/results", since=t2.isoformat())) == 1
        assert rows[0]["metrics"][0]["label"] == "v"


def test_an_agent_clock_running_ahead_does_not_freeze_the_check(database_url: str) -> None:
    from datetime import timedelta

    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        h.report("web01", [result("disk", 0, h.clock.now + timedelta(days=1))])  # skewed clock
        h.report("web01", [result("disk", 2, h.clock.advance(seconds=30), max_attempts=1)])
        assert checks_of(h, "web01")["disk"]["status_name"] == "CRITICAL"
        rows = h.get(f"/api/v1/hosts/{host_id}/results", check="disk")
        assert all(r["observed_at"] <= r["received_at"] for r in rows)


def test_soft_bouncing_with_three_attempts_is_not_flapping(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        for i in range(30):  # OK, CRITICAL, OK, ...: every CRITICAL is SOFT 1/3, never HARD
            h.report("web01", [result("app", 2 * (i % 2), h.clock.advance(seconds=60), max_attempts=3)])
        state = checks_of(h, "web01")["app"]
        assert state["flapping"] is False and state["flap_percent"] == 0
        for _ in range(3):  # now it really fails: HARD at the third result, and the ticket opens at once
            h.report("web01", [result("app", 2, h.clock.advance(seconds=60), max_attempts=3)])
        assert checks_of(h, "web01")["app"]["flapping"] is False
        assert len(h.get("/api/v1/tickets", state="open")) == 1


def test_flap_thresholds_come_from_the_contract_per_check(database_url: str) -> None:
    document = {"customers": [{"name": "Muster GmbH", "contract": {
        "kind": "full", "timezone": "Europe/Berlin",
        "priorities": {"matrix": {i: {"critical": "P1", "warning": "P1"} for i in ("high", "normal", "low")},
                       "P1": {"response": "1h", "resolution": "4h"}},
        "flapping": {"checks": [{"check": "lax-*", "low": 40, "high": 90}]}}}]}
    with harness(database_url) as h:
        with h.sessions() as db:
            contracts.apply(db, document, "test", h.clock.now)
            db.commit()
        h.enroll("web01", customer="Muster GmbH")
        for i in range(6):  # CRITICAL, OK, ... HARD at once: 35.5 % state change after the sixth
            at = h.clock.advance(seconds=60)
            status = 2 * ((i + 1) % 2)
            h.report("web01", [result(name, status, at, max_attempts=1) for name in ("app", "lax-app")])
        states = checks_of(h, "web01")
        assert states["app"]["flapping"] is True  # the defaults, 5 / 20
        assert states["lax-app"]["flapping"] is False and states["lax-app"]["flap_percent"] > 20


def test_a_flapping_check_holds_its_ticket_back_until_it_settles(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        for _ in range(21):  # steady OK: enough history, no flapping
            h.report("web01", [result("app", 0, h.clock.advance(seconds=60))])
        for i in range(8):  # OK, CRITICAL, OK, ... with max_attempts 1: every failure is HARD at once
            status = 2 if i % 2 == 0 else 0
            h.report("web01", [result("app", status, h.clock.advance(seconds=60), max_attempts=1)])
        state = checks_of(h, "web01")["app"]
        assert state["flapping"] is True and state["flap_percent"] >= 20
        # The first two failures (under 20 % change) opened, then reopened one ticket; from the third on the
        # check flaps and the failure opens nothing; the last result (OK) resolved the ticket.
        assert len(h.get("/api/v1/tickets", state="all")) == 1
        assert h.get("/api/v1/tickets", state="open") == []
        h.report("web01", [result("app", 2, h.clock.advance(seconds=60), max_attempts=1)])
        assert h.get("/api/v1/tickets", state="open") == []  # held back: still flapping
        for _ in range(25):  # it settles into a steady failure: flapping ends and the ticket is due
            h.report("web01", [result("app", 2, h.clock.advance(seconds=60), max_attempts=1)])
        state = checks_of(h, "web01")["app"]
        assert state["flapping"] is False and state["status_name"] == "CRITICAL"
        assert len(h.get("/api/v1/tickets", state="open")) == 1


def test_metrics_are_for_loopback_the_metrics_token_or_everyone_when_public(database_url: str) -> None:
    with harness(database_url) as h:  # the test client's peer is "testclient", not a loopback address
        r = h.client.get("/metrics")
        assert r.status_code == 403 and "loopback only" in r.json()["error"]
    with harness(database_url, "admin2", metrics_token="scrape-me") as h:
        assert h.client.get("/metrics").status_code == 401
        assert h.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert h.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    with harness(database_url, "admin3", metrics_public=True) as h:
        assert h.client.get("/metrics").status_code == 200
    with harness(database_url, "admin4") as h:
        loopback = TestClient(h.client.app, client=("127.0.0.1", 50000))
        assert loopback.get("/metrics").status_code == 200
        assert TestClient(h.client.app, client=("::1", 50000)).get("/metrics").status_code == 200
