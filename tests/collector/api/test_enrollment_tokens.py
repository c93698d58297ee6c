"""Enrollment tokens over the API: one use, a bounded TTL, an existing customer, level 2 and up only."""

from __future__ import annotations

from datetime import timedelta

from fernwart.collector.models import utcnow
from fernwart.collector.services import auth, customers
from tests.collector.helpers import Harness, harness


def _customer(h: Harness, name: str) -> None:
    with h.sessions() as db:
        customers.get_or_create(db, name, h.clock.now)
        db.commit()


def _account(h: Harness, name: str, role: str, customer: str | None = None) -> dict[str, str]:
    with h.sessions() as db:
        token = auth.create_user(db, name, role, utcnow(), customer=customer)
        db.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_token_made_over_the_api_enrolls_one_host_once(database_url: str) -> None:
    with harness(database_url) as h:
        _customer(h, "Muster GmbH")
        r = h.post("/api/v1/enrollment-tokens", {"customer": "Muster GmbH", "ttl": 600})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["token"].startswith("fwe_") and body["uses"] == 1
        assert body["expires_at"].startswith("2026-11-22T10:10:00")
        enroll = {"token": body["token"], "hostname": "web01", "os": "Linux"}
        assert h.client.post("/api/v1/enroll", json=enroll).status_code == 201
        again = h.client.post("/api/v1/enroll", json={**enroll, "hostname": "web02"})
        assert again.status_code == 401 and "used up" in again.json()["error"]
        hosts = h.get("/api/v1/hosts")
        assert [(x["name"], x["customer"]) for x in hosts] == [("web01", "Muster GmbH")]


def test_a_revoked_token_enrolls_nothing(database_url: str) -> None:
    with harness(database_url) as h:
        _customer(h, "Muster GmbH")
        body = h.post("/api/v1/enrollment-tokens", {"customer": "Muster GmbH"}).json()
        assert h.post(f"/api/v1/enrollment-tokens/{body['id']}/revoke").status_code == 204
        r = h.client.post("/api/v1/enroll", json={"token": body["token"], "hostname": "web01", "os": "L"})
        assert r.status_code == 401 and r.json()["error"] == "enrollment token revoked"


def test_an_expired_token_says_when_it_expired(database_url: str) -> None:
    with harness(database_url) as h:
        _customer(h, "Muster GmbH")
        body = h.post("/api/v1/enrollment-tokens", {"customer": "Muster GmbH", "ttl": 60}).json()
        h.clock.advance(seconds=61)
        r = h.client.post("/api/v1/enroll", json={"token": body["token"], "hostname": "web01", "os": "L"})
        assert r.status_code == 401
        assert r.json()["error"] == "enrollment token expired at 2026-11-22T10:01:00+00:00"


def test_an_unknown_customer_is_not_created_by_the_api(database_url: str) -> None:
    with harness(database_url) as h:
        r = h.post("/api/v1/enrollment-tokens", {"customer": "Musterr GmbH"})
        assert r.status_code == 404 and "no such customer" in r.json()["error"]
        with h.sessions() as db:
            assert customers.by_name(db, "Musterr GmbH") is None


def test_only_level_2_and_up_make_tokens(database_url: str) -> None:
    with harness(database_url) as h:
        _customer(h, "Muster GmbH")
        body = {"customer": "Muster GmbH"}
        level1 = _account(h, "l1", "level1")
        level2 = _account(h, "l2", "level2")
        viewer = _account(h, "muster", "level1", customer="Muster GmbH")
        r = h.client.post("/api/v1/enrollment-tokens", json=body, headers=level1)
        assert r.status_code == 403 and r.json()["error"] == "role level1 may not create enrollment tokens"
        r = h.client.post("/api/v1/enrollment-tokens", json=body, headers=viewer)
        assert r.status_code == 403 and "customer accounts" in r.json()["error"]
        assert h.client.post("/api/v1/enrollment-tokens", json=body).status_code == 401
        made = h.client.post("/api/v1/enrollment-tokens", json=body, headers=level2)
        assert made.status_code == 201
        revoke = f"/api/v1/enrollment-tokens/{made.json()['id']}/revoke"
        assert h.client.post(revoke, headers=level1).status_code == 403


def test_the_ttl_is_bounded(database_url: str) -> None:
    with harness(database_url) as h:
        _customer(h, "Muster GmbH")
        week = int(timedelta(days=7).total_seconds())
        assert h.post("/api/v1/enrollment-tokens", {"customer": "Muster GmbH", "ttl": week + 1}).status_code \
            == 422
        assert h.post("/api/v1/enrollment-tokens", {"customer": "Muster GmbH", "ttl": 0}).status_code == 422
