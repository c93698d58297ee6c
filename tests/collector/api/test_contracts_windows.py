"""Contracts (GET/PUT), maintenance windows (GET/POST) and the maintenance log through the API."""

from __future__ import annotations

from typing import Any

import pytest

from fernwart.collector.services import auth
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.helpers import Harness, harness

pytestmark = pytest.mark.usefixtures("database_url")
PATCH_NIGHT = {"name": "patch night", "every": "sun 02:00-04:00", "scope": "all"}


def _account(h: Harness, name: str, role: str, customer: str | None = None) -> dict[str, str]:
    with h.sessions() as db:
        token = auth.create_user(db, name, role, h.clock.now, customer=customer)
        db.commit()
    return {"Authorization": f"Bearer {token}"}


def _window(**changes: Any) -> dict[str, Any]:
    return {"customer": CUSTOMER, "name": "disk swap", "scope": "host:web01", "from": "2026-11-22T12:00:00Z",
            "to": "2026-11-22T14:00:00Z", "reason": "RMA disk", **changes}


def test_applied_contracts_are_listed_with_revisions(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        apply(h, contract(timezone="Europe/Berlin"))
        apply(h, contract("Other AG"))
        everything = h.get("/api/v1/contracts")
        one = h.get("/api/v1/contracts", customer=CUSTOMER)
    assert [(c["customer"], c["revision"]) for c in everything] == [(CUSTOMER, 2), ("Other AG", 1)]
    assert one[0]["document"]["contract"]["timezone"] == "Europe/Berlin" and one[0]["applied_by"] == "admin"


def test_a_refused_contract_lists_every_problem_and_changes_nothing(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        bad = contract(timezone="Mars/Olympus", colour="red", maintenance_windows=[
            {"name": "backwards", "from": "2026-12-06T06:00", "to": "2026-12-05T18:00"}])
        bad["customers"].append(contract("New AG")["customers"][0])
        r = h.client.put("/api/v1/contracts", json=bad, headers={"Authorization": f"Bearer {h.admin_token}"})
        after = h.get("/api/v1/contracts")
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert r.json()["error"].startswith("contract refused, nothing changed: ")
    assert any(p.startswith("customers[0] (Muster GmbH).contract.colour: unknown key") for p in problems)
    assert any(".contract.timezone:" in p for p in problems)
    assert any("backwards" in p and "before it starts" in p for p in problems), problems
    assert [(c["customer"], c["revision"]) for c in after] == [(CUSTOMER, 1)]  # New AG not created


def test_only_admins_apply_and_customers_read_only_their_own(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        apply(h, contract("Other AG"))
        tech = _account(h, "tech", "level3")
        own = _account(h, "muster", "level1", CUSTOMER)
        refused = h.client.put("/api/v1/contracts", json=contract(), headers=tech)
        listed = h.client.get("/api/v1/contracts", headers=own).json()
        foreign = h.client.get("/api/v1/contracts", params={"customer": "Other AG"}, headers=own)
        unknown = h.client.get("/api/v1/contracts", params={"customer": "Nobody"}, headers=tech)
        not_json = h.client.put("/api/v1/contracts", json=["customers"],
                                headers={"Authorization": f"Bearer {h.admin_token}"})
    assert refused.status_code == 403 and refused.json() == {"error": "role level3 may not apply contracts"}
    assert [c["customer"] for c in listed] == [CUSTOMER]
    assert foreign.status_code == 404 and unknown.status_code == 404
    assert not_json.status_code == 422 and "error" in not_json.json()


def test_windows_list_contract_and_adhoc_windows_with_next_occurrences(database_url: str) -> None:
    with harness(database_url) as h:  # now: Sunday 2026-11-22 10:00 UTC
        apply(h, contract(timezone="Europe/Berlin", maintenance_windows=[PATCH_NIGHT]))
        created = h.post("/api/v1/windows", _window())
        listed = h.get("/api/v1/windows", customer=CUSTOMER)
        active = h.get("/api/v1/windows", customer=CUSTOMER, active_at="2026-11-22T13:00:00Z")
        night = h.get("/api/v1/windows", customer=CUSTOMER, active_at="2026-11-29T01:30:00Z")
        log = h.get("/api/v1/maintenance-log", customer=CUSTOMER)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["source"], body["created_by"], body["from"], body["to"]) == (
        "adhoc", "admin", "2026-11-22T12:00:00Z", "2026-11-22T14:00:00Z")
    patch = listed[0]
    assert (patch["source"], patch["every"], patch["scope"], patch["active"]) == (
        "contract", "sun 02:00-04:00", "all", False)
    assert patch["next"][0] == {"from": "2026-11-29T01:00:00Z", "to": "2026-11-29T03:00:00Z"}  # CET
    assert [w["name"] for w in listed] == ["patch night", "disk swap"]
    assert [w["name"] for w in active] == ["disk swap"] and [w["name"] for w in night] == ["patch night"]
    assert [(e["kind"], e["window"]) for e in log] == [("created", "disk swap")]
    assert "RMA disk" in log[0]["message"]
    # the log states its times in UTC, named, to the second, like its `at` (no local offsets mixed in)
    assert "2026-11-22 12:00:00 UTC - 2026-11-22 14:00:00 UTC by admin" in log[0]["message"]


@pytest.mark.parametrize(("changes", "status", "message"), [
    ({"scope": "rack:7"}, 422, "scope: bad scope 'rack:7'"),
    ({"to": "2026-11-22T11:00:00Z"}, 422, "to: the window ends before it starts"),
    ({"reason": "  "}, 422, "reason: an ad-hoc window needs a reason"),
    ({"from": "2026-11-22T12:00"}, 422, "from: expected an ISO 8601 time with a UTC offset"),
    ({"customer": "Nobody"}, 404, "customer 'Nobody' not found"),
    ({"colour": "red"}, 422, "colour: Extra inputs are not permitted"),
])
def test_bad_windows_are_refused_with_the_field(database_url: str, changes: dict[str, Any], status: int,
                                                message: str) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        r = h.post("/api/v1/windows", _window(**changes))
        listed = h.get("/api/v1/windows", customer=CUSTOMER)
    assert r.status_code == status and r.json()["error"].startswith(message), r.text
    assert listed == []


def test_customer_accounts_cannot_add_windows(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        own = _account(h, "muster", "level1", CUSTOMER)
        r = h.client.post("/api/v1/windows", json=_window(), headers=own)
        seen = h.client.get("/api/v1/windows", params={"customer": CUSTOMER}, headers=own)
    assert r.status_code == 403 and r.json() == {"error": "customer accounts may not add maintenance windows"}
    assert seen.status_code == 200 and seen.json() == []
