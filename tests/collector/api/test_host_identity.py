"""A host's identity on real databases: its agent instance, the facts its agent reports, its approval."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest

from fernwart.agent.hostfacts import gather
from fernwart.collector.api.schemas import HostFactsIn
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.services import auth, hostfacts, identity, staleness
from tests.collector.api.contract_helpers import CUSTOMER, OCT, OCT_SECONDS, apply, contract
from tests.collector.helpers import BACKFILL, T0, Harness, harness, result

pytestmark = pytest.mark.usefixtures("database_url")
A = "0b6f3c1e-1111-4111-8111-111111111111"
B = "0b6f3c1e-2222-4222-8222-222222222222"
ED25519 = "SHA256:" + "A" * 43
RSA = "SHA256:" + "b" * 42 + "0"


def agent_post(
    h: Harness, name: str, path: str, body: Any, instance: str | None, method: str = "POST",
) -> Any:
    _, token = h.hosts[name]
    headers = {"Authorization": f"Bearer {token}"}
    if instance is not None:
        headers["X-Fernwart-Instance"] = instance
    return h.client.request(method, path, json=body, headers=headers)


def heartbeat(h: Harness, name: str, instance: str | None) -> Any:
    return agent_post(h, name, "/api/v1/reports", {"host_id": h.hosts[name][0], "results": []}, instance)


def facts(**overrides: Any) -> dict[str, Any]:
    return {
        "agent_version": "0.9.0", "os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0-18-amd64",
        "hostname": "web01", "addresses": [{"interface": "eth0", "address": "192.0.2.10"},
                                           {"interface": "eth0", "address": "2001:db8::10"}],
        "ssh_host_keys": [{"type": "ssh-ed25519", "fingerprint": ED25519},
                          {"type": "ssh-rsa", "fingerprint": RSA}],
        **overrides,
    }


# --- agent instance -------------------------------------------------------------------------------------


def test_the_first_instance_is_bound_and_another_one_is_refused_with_409(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")  # an old agent: enrolled without an instance id
        assert heartbeat(h, "web01", A).status_code == 200  # bound at its first request
        assert heartbeat(h, "web01", A).status_code == 200
        for refused in (B, None):  # another instance, or none at all, with the host's token
            r = heartbeat(h, "web01", refused)
            assert r.status_code == 409, r.text
            assert r.json()["code"] == "instance_conflict"
            assert "cloned VM" in r.json()["error"] and "reset-instance web01" in r.json()["error"]
        rotate = agent_post(h, "web01", "/api/v1/agent/rotate", {}, B)
        assert rotate.status_code == 409  # every agent endpoint, not only reports
        jobs = h.client.get("/api/v1/agent/jobs", headers={"Authorization": f"Bearer {h.hosts['web01'][1]}",
                                                           "X-Fernwart-Instance": B})
        assert jobs.status_code == 409
        host = h.get(f"/api/v1/hosts/{host_id}")
        assert host["agent_instance"] == A
        assert host["instance_conflict"] == B  # the first refused one, kept with its time
        assert host["instance_conflict_at"] == "2026-11-22T10:00:00Z"
        assert heartbeat(h, "web01", A).status_code == 200  # the bound instance goes on


def test_a_malformed_instance_id_is_refused_as_invalid(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        for bad in ("short", "x" * 65, "a b c d e f g h", "../../etc/passwd"):
            r = heartbeat(h, "web01", bad)
            assert r.status_code == 422 and "X-Fernwart-Instance" in r.json()["error"]


def test_enrollment_binds_the_instance_and_reset_instance_unbinds_it(database_url: str) -> None:
    with harness(database_url) as h:
        with h.sessions() as db:
            token = auth.create_enrollment_token(db, h.clock.now)
            db.commit()
        r = h.client.post("/api/v1/enroll", json={"token": token, "hostname": "web01"},
                          headers={"X-Fernwart-Instance": A})
        assert r.status_code == 201
        h.hosts["web01"] = (r.json()["host_id"], r.json()["agent_token"])
        assert heartbeat(h, "web01", B).status_code == 409
        with h.sessions() as db:
            identity.reset_instance(db, "web01", None)
            db.commit()
        assert heartbeat(h, "web01", B).status_code == 200  # the reinstalled agent is bound now
        assert heartbeat(h, "web01", A).status_code == 409
        assert h.get(f"/api/v1/hosts/{h.hosts['web01'][0]}")["agent_instance"] == B


# --- host facts -----------------------------------------------------------------------------------------


def test_reported_facts_are_stored_shown_and_their_keys_kept_per_type(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        r = agent_post(h, "web01", "/api/v1/agent/facts", facts(), A, "PUT")
        assert r.status_code == 204, r.text
        host = h.get(f"/api/v1/hosts/{host_id}")
        assert host["facts"]["kernel"] == "6.1.0-18-amd64"
        assert host["facts"]["addresses"][1] == {"interface": "eth0", "address": "2001:db8::10"}
        assert [(k["type"], k["fingerprint"]) for k in host["ssh_host_keys"]] == [
            ("ssh-ed25519", ED25519), ("ssh-rsa", RSA)]
        assert host["agent_version"] == "0.9.0"
        h.clock.advance(minutes=10)
        assert agent_post(h, "web01", "/api/v1/agent/facts", facts(), A, "PUT").status_code == 204
        again = h.get(f"/api/v1/hosts/{host_id}")
        assert again["facts_changed_at"] == host["facts_changed_at"] != again["facts_reported_at"]
        changed = facts(ssh_host_keys=[{"type": "ssh-ed25519", "fingerprint": ED25519}])
        assert agent_post(h, "web01", "/api/v1/agent/facts", changed, A, "PUT").status_code == 204
        with h.sessions() as db:
            keys = hostfacts.reported_host_keys(db, host_id)
        assert [(k.type, k.fingerprint) for k in keys] == [("ssh-ed25519", ED25519)]
        assert h.get(f"/api/v1/hosts/{host_id}")["facts_changed_at"] == "2026-11-22T10:10:00Z"


def test_facts_sent_at_enrollment_are_stored(database_url: str) -> None:
    with harness(database_url) as h:
        with h.sessions() as db:
            token = auth.create_enrollment_token(db, h.clock.now)
            db.commit()
        r = h.client.post("/api/v1/enroll", json={"token": token, "hostname": "web01", "facts": facts()})
        assert r.status_code == 201, r.text
        host = h.get(f"/api/v1/hosts/{r.json()['host_id']}")
        assert host["facts"]["os"] == "Debian GNU/Linux 12 (bookworm)" and len(host["ssh_host_keys"]) == 2


@pytest.mark.parametrize("bad", [
    {"os": "Debian\x1b[31m evil"},
    {"hostname": "x" * 256},
    {"addresses": [{"interface": "eth0", "address": "not an address"}]},
    {"addresses": [{"interface": "eth 0", "address": "192.0.2.1"}]},
    {"addresses": [{"interface": "eth0", "address": f"192.0.2.{i % 250}"} for i in range(65)]},
    {"ssh_host_keys": [{"type": "ssh-ed25519", "fingerprint": "MD5:aa:bb"}]},
    {"ssh_host_keys": [{"type": "ssh-ed25519\n", "fingerprint": ED25519}]},
    {"ssh_host_keys": [{"type": "ssh-ed25519", "fingerprint": ED25519}] * 2},
    {"ssh_host_keys": [{"type": f"k{i}", "fingerprint": ED25519} for i in range(17)]},
])
def test_hostile_facts_are_refused_and_change_nothing(database_url: str, bad: dict[str, Any]) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        r = agent_post(h, "web01", "/api/v1/agent/facts", facts(**bad), A, "PUT")
        assert r.status_code == 422, r.text
        assert h.get(f"/api/v1/hosts/{host_id}")["facts"] is None


def test_facts_need_the_agent_token_and_customers_see_only_their_own(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01", customer=CUSTOMER)
        assert h.client.put("/api/v1/agent/facts", json=facts()).status_code == 401
        assert agent_post(h, "web01", "/api/v1/agent/facts", facts(), A, "PUT").status_code == 204
        with h.sessions() as db:
            other = auth.create_user(db, "other", "level1", h.clock.now, customer="Other AG")
            db.commit()
        r = h.client.get(f"/api/v1/hosts/{host_id}", headers={"Authorization": f"Bearer {other}"})
        assert r.status_code == 404


def test_gathered_facts_fit_the_collector_schema() -> None:
    facts = gather()
    assert HostFactsIn.model_validate(facts).stored() == facts
    assert facts["hostname"] == socket.gethostname()


# --- approval -------------------------------------------------------------------------------------------


def user(h: Harness, name: str, role: str) -> dict[str, str]:
    with h.sessions() as db:
        token = auth.create_user(db, name, role, h.clock.now)
        db.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_pending_host_keeps_results_but_counts_nothing_until_approved(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract(approval="required"))
        host_id, _ = h.enroll("web01", CUSTOMER)
        assert h.get(f"/api/v1/hosts/{host_id}")["approval"] == "pending"
        failing = [result("app", 2, h.clock.now - timedelta(minutes=m), max_attempts=1) for m in (3, 2, 1)]
        assert h.report("web01", failing).json()["accepted"] == 3
        assert len(h.get(f"/api/v1/hosts/{host_id}/results")) == 3  # kept
        assert h.get(f"/api/v1/hosts/{host_id}/checks") == []  # but no state moved
        assert h.get("/api/v1/tickets", state="open") == []
        host = h.get(f"/api/v1/hosts/{host_id}")
        assert host["state"] == "pending" and host["last_seen_at"] == "2026-11-22T10:00:00Z"
        h.clock.advance(hours=2)
        with h.sessions() as db:  # a silent pending host is not declared unreachable either
            assert staleness.sweep(db, h.clock.now, timedelta(seconds=60), TicketPolicy()).marked == ()
            h.clock.advance(minutes=5)
            assert staleness.sweep(db, h.clock.now, timedelta(seconds=60), TicketPolicy()).marked == ()
            db.commit()

        approve = f"/api/v1/hosts/{host_id}/approve"
        assert h.client.post(approve, headers=user(h, "l1", "level1")).status_code == 403
        approved = h.client.post(approve, headers=user(h, "l2", "level2"))
        assert approved.status_code == 200, approved.text
        assert (approved.json()["approval"], approved.json()["approved_by"]) == ("approved", "l2")
        assert h.client.post(approve, headers=h.auth).status_code == 409  # not pending any more
        approved_at = h.clock.now
        h.clock.advance(minutes=1)
        late = result("app", 2, approved_at - timedelta(seconds=30), max_attempts=1)  # before approval
        fresh = result("app", 2, h.clock.now, max_attempts=1)
        assert h.report("web01", [late, fresh]).json()["accepted"] == 2
        [app] = [c for c in h.get(f"/api/v1/hosts/{host_id}/checks") if c["check"] == "app"]
        assert app["last_change_at"] == fresh["observed_at"].replace("+00:00", "Z")
        [ticket] = h.get("/api/v1/tickets", state="open")
        assert ticket["check"] == "app"


def test_a_customer_account_cannot_approve_and_other_customers_hosts_are_not_found(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract(approval="required"))
        host_id, _ = h.enroll("web01", CUSTOMER)
        with h.sessions() as db:
            own = auth.create_user(db, "cust", "admin", h.clock.now, customer=CUSTOMER)
            db.commit()
        r = h.client.post(f"/api/v1/hosts/{host_id}/approve", headers={"Authorization": f"Bearer {own}"})
        assert r.status_code == 403
        assert h.client.post(f"/api/v1/hosts/{host_id}/approve").status_code == 401
        assert h.get(f"/api/v1/hosts/{host_id}")["approval"] == "pending"


def test_without_approval_in_the_contract_hosts_count_at_once(database_url: str) -> None:
    with harness(database_url) as h:
        apply(h, contract())
        host_id, _ = h.enroll("web01", CUSTOMER)
        assert h.get(f"/api/v1/hosts/{host_id}")["approval"] == "none"
        h.report("web01", [result("app", 0, h.clock.now)])
        assert [c["check"] for c in h.get(f"/api/v1/hosts/{host_id}/checks")] == ["app", "host"]
        assert h.client.post(f"/api/v1/hosts/{host_id}/approve", headers=h.auth).status_code == 409


def test_availability_counts_from_the_approval_time(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract(approval="required"))
        h.clock.now = OCT
        host_id, _ = h.enroll("web01", CUSTOMER)
        h.report("web01", [result("app", 2, OCT, max_attempts=1)], heartbeat_interval=60)  # not counted
        h.clock.now = OCT + timedelta(days=14)
        assert h.post(f"/api/v1/hosts/{host_id}/approve").status_code == 200
        h.report("web01", [result("app", 0, h.clock.now, max_attempts=1)])
        h.clock.now = OCT + timedelta(days=19, hours=12)
        h.report("web01", [result("app", 2, h.clock.now, max_attempts=1)])
        h.clock.advance(minutes=30)
        h.report("web01", [result("app", 0, h.clock.now, max_attempts=1)])
        h.clock.now = T0
        body = h.get("/api/v1/availability", customer=CUSTOMER, month="2026-10")
    assert body["downtime_seconds"] == 1800  # the CRITICAL of Oct 1, before approval, is not counted
    assert body["counted_seconds"] == OCT_SECONDS - 14 * 86400  # from the approval on


def test_a_host_approved_while_silent_goes_unreachable_counted_from_the_approval(database_url: str) -> None:
    hourly = timedelta(hours=1)  # the sweep's interval: two hours between sweeps are no collector outage

    def sweep() -> tuple[str, ...]:
        with h.sessions() as db:
            marked = staleness.sweep(db, h.clock.now, hourly, TicketPolicy()).marked
            db.commit()
        return marked

    with harness(database_url) as h:
        apply(h, contract(approval="required"))
        host_id, _ = h.enroll("web01", CUSTOMER)
        h.report("web01", [], heartbeat_interval=60)  # seen once, then silent
        assert sweep() == ()  # sweeping resumes now, long before the approval
        h.clock.advance(hours=2)
        assert sweep() == ()  # pending: its silence counts for nothing
        assert h.post(f"/api/v1/hosts/{host_id}/approve").status_code == 200
        approved_at = h.clock.now
        h.clock.advance(minutes=1)
        assert sweep() == ()
        h.clock.advance(minutes=3)  # three heartbeats after the approval
        assert sweep() == (host_id,)
        [reach] = h.get(f"/api/v1/hosts/{host_id}/checks")
    assert reach["check"] == "host" and reach["status_name"] == "CRITICAL"
    unreachable_from = (approved_at + timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    assert reach["last_change_at"] == unreachable_from  # not from its last report, before the approval
