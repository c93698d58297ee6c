"""Contracts and windows pages on SQLite and PostgreSQL, and HTML 404 pages for unknown dashboard paths."""

from __future__ import annotations

from fernwart.collector.services import auth
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.dashboard.conftest import ESCAPED, HOSTILE, browser, hidden, sign_in
from tests.collector.helpers import Harness

OTHER = "Other AG"


def test_the_contracts_page_shows_what_each_customer_was_promised(site: Harness) -> None:
    apply(site, contract(timezone="Europe/Berlin"))
    apply(site, contract(OTHER))
    admin = sign_in(site.client, site.admin_token)
    page = admin.get("/contracts")
    assert page.status_code == 200
    muster = page.text.split("<h2>Muster GmbH")[1].split("</section>")[0]
    assert "timezone: Europe/Berlin" in muster and "target: 99.9" in muster and "revision 1" in muster
    assert "<h2>Other AG" in page.text
    with site.sessions() as db:
        token = auth.create_user(db, "muster", "level1", site.clock.now, customer=CUSTOMER)
        db.commit()
    own = sign_in(browser(site), token)
    assert "Other AG" not in own.get("/contracts").text
    assert own.get("/contracts", params={"customer": OTHER}).status_code == 404
    assert own.get("/windows", params={"customer": OTHER}).status_code == 404


def test_a_technician_adds_an_adhoc_window_in_the_contracts_timezone(site: Harness) -> None:
    apply(site, contract(timezone="Europe/Berlin", maintenance_windows=[
        {"name": "patch night", "every": "sun 02:00-04:00"}]))
    admin = sign_in(site.client, site.admin_token)
    page = admin.get("/windows", params={"customer": CUSTOMER})
    assert page.status_code == 200 and "patch night" in page.text
    assert "sun 02:00-04:00 Europe/Berlin" in page.text
    form = {"csrf": hidden(page.text, "csrf"), "customer": CUSTOMER, "name": "disk swap",
            "scope": "host:web01", "starts": "2026-11-22T13:00", "ends": "2026-11-22T15:00",
            "reason": f"RMA {HOSTILE}"}
    assert admin.post("/windows", data={**form, "csrf": "forged"}).status_code == 403
    assert admin.post("/windows", data={**form, "reason": " "}).status_code == 422
    bad = admin.post("/windows", data={**form, "starts": "tomorrow"})
    assert bad.status_code == 422 and "from/to" in bad.text
    done = admin.post("/windows", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/windows?customer=Muster%20GmbH"
    [window] = [w for w in site.get("/api/v1/windows", customer=CUSTOMER) if w["source"] == "adhoc"]
    assert (window["from"], window["to"]) == ("2026-11-22T12:00:00Z", "2026-11-22T14:00:00Z")  # CET
    shown = admin.get("/windows", params={"customer": CUSTOMER}).text
    assert ESCAPED in shown and HOSTILE not in shown and "ad hoc by admin" in shown
    assert "created" in shown.split("<h2>Maintenance log</h2>")[1]

    with site.sessions() as db:
        token = auth.create_user(db, "muster", "level1", site.clock.now, customer=CUSTOMER)
        first = auth.create_user(db, "lena", "level1", site.clock.now)
        db.commit()
    customer = sign_in(browser(site), token)
    seen = customer.get("/windows", params={"customer": CUSTOMER}).text
    assert "disk swap" in seen and "Add an ad-hoc window" not in seen
    refused = customer.post("/windows", data={**form, "csrf": hidden(seen, "csrf")})
    assert refused.status_code == 403
    level1 = sign_in(browser(site), first)
    page = level1.get("/windows", params={"customer": CUSTOMER}).text
    assert level1.post("/windows", data={**form, "csrf": hidden(page, "csrf")}).status_code == 403


def test_unknown_dashboard_paths_are_html_pages_and_api_paths_stay_json(site: Harness) -> None:
    admin = sign_in(site.client, site.admin_token)
    page = admin.get("/availability", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "No such page." in page.text and "script-src" not in page.headers["content-security-policy"]
    api = admin.get("/api/v1/nothing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json() == {"error": "Not Found"}
    assert admin.get("/nothing").json() == {"error": "Not Found"}  # a client that asks for no HTML
