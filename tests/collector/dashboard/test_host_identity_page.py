"""The host page's identity part: facts and keys shown escaped, the approve button behind CSRF."""

from __future__ import annotations

from fernwart.collector.services import auth
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.dashboard.conftest import ESCAPED, HOSTILE, browser, hidden, sign_in
from tests.collector.helpers import Harness

ED25519 = "SHA256:" + "Q" * 43
INSTANCE = "0b6f3c1e-1111-4111-8111-111111111111"


def test_reported_facts_and_ssh_keys_are_shown_escaped(site: Harness) -> None:
    host_id, token = site.enroll("web01")
    facts = {"agent_version": "1.0", "os": HOSTILE, "kernel": HOSTILE, "hostname": HOSTILE,
             "addresses": [{"interface": "<b>eth0</b>", "address": "192.0.2.10"}],
             "ssh_host_keys": [{"type": "ssh-ed25519", "fingerprint": ED25519}]}
    r = site.client.put("/api/v1/agent/facts", json=facts, headers={"Authorization": f"Bearer {token}",
                                                                     "X-Fernwart-Instance": INSTANCE})
    assert r.status_code == 204, r.text
    page = sign_in(site.client, site.admin_token).get(f"/hosts/{host_id}").text
    assert HOSTILE not in page and page.count(ESCAPED) >= 3
    assert "&lt;b&gt;eth0&lt;/b&gt;" in page and "192.0.2.10" in page
    assert ED25519 in page and "ssh-ed25519" in page
    assert INSTANCE in page and "Approve this host" not in page


def test_a_pending_host_is_approved_with_the_button_and_only_with_the_right_csrf(site: Harness) -> None:
    apply(site, contract(approval="required"))
    host_id, _ = site.enroll("web01", CUSTOMER)
    client = sign_in(site.client, site.admin_token)
    page = client.get(f"/hosts/{host_id}").text
    assert "Waiting for approval" in page and "Approve this host" in page
    foreign = hidden(sign_in(browser(site), site.admin_token).get(f"/hosts/{host_id}").text, "csrf")
    for data in ({}, {"csrf": "forged"}, {"csrf": foreign}):
        assert client.post(f"/hosts/{host_id}/approve", data=data).status_code == 403
    assert client.get(f"/hosts/{host_id}/approve").status_code in (404, 405)  # no GET changes anything
    assert site.get(f"/api/v1/hosts/{host_id}")["approval"] == "pending"
    r = client.post(f"/hosts/{host_id}/approve", data={"csrf": hidden(page, "csrf")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/hosts/{host_id}"
    assert site.get(f"/api/v1/hosts/{host_id}")["approval"] == "approved"
    after = client.get(f"/hosts/{host_id}").text
    assert "Waiting for approval" not in after and "approved" in after


def test_level1_and_customer_accounts_see_no_button_and_are_refused(site: Harness) -> None:
    apply(site, contract(approval="required"))
    host_id, _ = site.enroll("web01", CUSTOMER)
    with site.sessions() as db:
        level1 = auth.create_user(db, "l1", "level1", site.clock.now)
        customer = auth.create_user(db, "cust", "admin", site.clock.now, customer=CUSTOMER)
        db.commit()
    for token in (level1, customer):
        client = sign_in(browser(site), token)
        page = client.get(f"/hosts/{host_id}").text
        assert "Waiting for approval" in page and "Approve this host" not in page
        refused = client.post(f"/hosts/{host_id}/approve", data={"csrf": hidden(page, "csrf")})
        assert refused.status_code == 403
    assert site.get(f"/api/v1/hosts/{host_id}")["approval"] == "pending"
