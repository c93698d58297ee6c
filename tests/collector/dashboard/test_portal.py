"""The customer portal on SQLite and PostgreSQL: comments and service requests by customer accounts,
the provider's name and logo, and nothing of another customer reachable by any URL."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from fernwart.collector.services import auth
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.dashboard.conftest import ESCAPED, HOSTILE, browser, hidden, sign_in
from tests.collector.dashboard.test_pages import failing_host
from tests.collector.helpers import Harness, harness

OTHER = "Other AG"


def _customer(site: Harness, name: str, customer: str) -> TestClient:
    with site.sessions() as db:
        token = auth.create_user(db, name, "level1", site.clock.now, customer=customer)
        db.commit()
    return sign_in(browser(site), token)


def _csrf(client: TestClient, path: str) -> str:
    return hidden(client.get(path).text, "csrf")


def test_a_customer_comments_on_its_own_ticket_and_an_answer_resumes_a_wait(site: Harness) -> None:
    apply(site, contract())
    _, ticket = failing_host(site, "web01", CUSTOMER)
    muster = _customer(site, "muster", CUSTOMER)
    page = muster.get(f"/tickets/{ticket}").text
    assert "<h2>Add a comment</h2>" in page and "/acknowledge" not in page
    csrf = hidden(page, "csrf")
    assert muster.post(f"/tickets/{ticket}/acknowledge", data={"csrf": csrf}).status_code == 403

    admin = sign_in(site.client, site.admin_token)
    waited = admin.post(f"/tickets/{ticket}/wait", data={"csrf": _csrf(admin, f"/tickets/{ticket}"),
                                                        "message": "which disk?"}, follow_redirects=False)
    assert waited.status_code == 303
    answer = {"csrf": csrf, "message": f"the left one {HOSTILE}"}
    done = muster.post(f"/tickets/{ticket}/comment", data=answer, follow_redirects=False)
    assert done.status_code == 303
    served = site.get(f"/api/v1/tickets/{ticket}")
    assert served["state"] == "new"  # waiting no more (nobody acknowledged it yet): the clocks run
    kinds = [(e["kind"], e["actor"]) for e in served["events"]]
    assert kinds[-2:] == [("comment", "muster"), ("resumed", "muster")]
    shown = muster.get(f"/tickets/{ticket}").text
    assert ESCAPED in shown and HOSTILE not in shown
    assert muster.post(f"/tickets/{ticket}/comment", data={"csrf": csrf, "message": "  "}).status_code == 422


def test_a_customer_opens_a_service_request_with_the_contracts_priority(site: Harness) -> None:
    apply(site, contract())
    apply(site, contract(OTHER))
    host, _ = site.enroll("web01", CUSTOMER)
    foreign, _ = site.enroll("db01", OTHER)
    muster = _customer(site, "muster", CUSTOMER)
    form = muster.get("/requests/new").text
    assert f'value="{host}"' in form and foreign not in form and "db01" not in form
    csrf = hidden(form, "csrf")
    wanted = {"csrf": csrf, "host": host, "title": f"new user {HOSTILE}", "description": "for Anna",
              "urgency": "urgent"}
    opened = muster.post("/requests", data=wanted, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    number = int(opened.headers["location"].rsplit("/", 1)[1])
    ticket = site.get(f"/api/v1/tickets/{number}")
    # every host is "high" in the test contract; urgent is the matrix's critical: P1, 30 minutes to respond
    assert (ticket["check"], ticket["priority"], ticket["state"]) == ("service request", "P1", "new")
    assert ticket["response_due"].startswith("2026-11-22T10:30:00")
    assert ticket["events"][0]["actor"] == "muster" and "for Anna" in ticket["events"][0]["message"]
    again = muster.post("/requests", data={**wanted, "urgency": "normal"}, follow_redirects=False)
    assert again.status_code == 303  # several open requests on one host
    second = site.get(f"/api/v1/tickets/{int(again.headers['location'].rsplit('/', 1)[1])}")
    assert second["priority"] == "P2"
    page = muster.get(f"/tickets/{number}").text
    assert ESCAPED in page and HOSTILE not in page

    refused = muster.post("/requests", data={**wanted, "host": foreign})
    assert refused.status_code == 422 and "Choose one of your hosts." in refused.text
    assert muster.post("/requests", data={**wanted, "urgency": "whenever"}).status_code == 422
    assert muster.post("/requests", data={**wanted, "title": ""}).status_code == 422
    assert muster.post("/requests", data={**wanted, "csrf": "forged"}).status_code == 403
    assert len(site.get("/api/v1/tickets", state="open")) == 2

    admin = sign_in(site.client, site.admin_token)
    csrf_admin = _csrf(admin, f"/tickets/{number}")
    for action in ("resolve", "reopen"):
        r = admin.post(f"/tickets/{number}/{action}", data={"csrf": csrf_admin}, follow_redirects=False)
        assert r.status_code == 303, (action, r.text)
    assert site.get(f"/api/v1/tickets/{number}")["state"] == "new"


def test_nothing_of_another_customer_is_reachable_by_url(site: Harness) -> None:
    apply(site, contract())
    apply(site, contract(OTHER))
    own_host, own_ticket = failing_host(site, "web01", CUSTOMER)
    other_host, other_ticket = failing_host(site, "db01", OTHER)
    muster = _customer(site, "muster", CUSTOMER)
    csrf = _csrf(muster, "/tickets")
    assert muster.get(f"/hosts/{own_host}").status_code == 200
    for path in (
        f"/hosts/{other_host}",
        f"/hosts/{other_host}?month=2026-10",
        f"/hosts/{other_host}?check=app",
        f"/tickets/{other_ticket}",
        f"/reports?customer={OTHER}",
        f"/reports/monthly?customer={OTHER}&month=2026-10&format=pdf",
        f"/reports/monthly?customer={OTHER}&month=2026-10&format=csv",
        f"/reports/monthly?customer={OTHER}&month=2026-10&format=json",
    ):
        r = muster.get(path)
        assert r.status_code == 404, path
        assert OTHER not in r.text and "db01" not in r.text, path
    for path in (f"/tickets/{other_ticket}/comment", f"/tickets/{other_ticket}/acknowledge"):
        r = muster.post(path, data={"csrf": csrf, "message": "hello"})
        assert r.status_code == 404, path
    listing = muster.get("/tickets", params={"customer": OTHER, "state": "all"}).text
    assert "db01" not in listing and f'href="/tickets/{other_ticket}"' not in listing
    for page in ("/", "/hosts", "/tickets?state=all", "/reports", "/requests/new"):
        text = muster.get(page).text
        assert OTHER not in text and "db01" not in text, page
    assert f'href="/tickets/{own_ticket}"' in muster.get("/tickets").text


def test_the_provider_name_and_logo_are_configurable(database_url: str, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    with harness(database_url, home=tmp_path / "home", provider_name="Wartung & Söhne",
                 provider_logo=logo) as site:
        login = site.client.get("/login").text
        assert "Wartung &amp; Söhne" in login and 'src="/brand/logo"' in login
        served = site.client.get("/brand/logo")
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
        assert served.content == logo.read_bytes()
        page = sign_in(site.client, site.admin_token).get("/").text
        assert "<title>Overview · Wartung &amp; Söhne</title>" in page
    with harness(database_url, admin_name="admin2", home=tmp_path / "home2") as plain:
        assert plain.client.get("/brand/logo").status_code == 404
        assert 'class="brand" href="/">Fernwart</a>' in plain.client.get("/login").text
