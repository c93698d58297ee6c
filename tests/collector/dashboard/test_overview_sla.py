"""The overview's SLA part on SQLite and PostgreSQL: availability bar with its target line, error budget,
open tickets by level and priority, tickets closest to breach; escaped, and scoped to the viewer."""

from __future__ import annotations

from fernwart.collector.services import auth
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.dashboard.conftest import ESCAPED, HOSTILE, sign_in
from tests.collector.dashboard.test_pages import failing_host
from tests.collector.helpers import Harness


def test_the_overview_shows_each_customers_sla_and_the_tickets_closest_to_breach(site: Harness) -> None:
    apply(site, contract())
    apply(site, contract("Other AG"))
    _, ticket = failing_host(site, "web01", CUSTOMER)  # P1: response due in 30 minutes
    site.clock.advance(minutes=10)
    served = site.get("/api/v1/availability", customer=CUSTOMER, month="2026-11")
    page = sign_in(site.client, site.admin_token).get("/").text
    sla = page.split("<h2>SLA this month</h2>")[1].split("</section>")[0]
    muster, other = sla.split('<tr class="sla-line')[1:]  # by customer name
    assert "Muster GmbH" in muster and "Other AG" in other
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="bar"' in muster and "<line" in muster
    assert served["downtime_seconds"] == 600 and served["met"] is False
    assert "row-critical" in muster and "99.9 %" in muster
    assert "L1 · P1: 1" in muster and "none" in other  # Other AG has no open ticket
    closest = page.split("<h2>Closest to breach</h2>")[1].split("</section>")[0]
    assert f'href="/tickets/{ticket}">#{ticket}</a>' in closest and "response" in closest
    assert "20 min" in closest  # 30 minutes to respond, 10 gone
    assert HOSTILE not in page and ESCAPED in closest


def test_a_customer_sees_only_its_own_line(site: Harness) -> None:
    apply(site, contract())
    apply(site, contract("Other AG"))
    failing_host(site, "web01", CUSTOMER)
    with site.sessions() as db:
        other = auth.create_user(db, "other", "level1", site.clock.now, customer="Other AG")
        db.commit()
    page = sign_in(site.client, other).get("/").text
    assert "Other AG" in page and "Muster GmbH" not in page and "Closest to breach" not in page
