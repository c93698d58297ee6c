"""The overview's problems on SQLite and PostgreSQL: per customer, marked with their ticket, whether it was
acknowledged, and the maintenance window they are in."""

from __future__ import annotations

from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.dashboard.conftest import sign_in
from tests.collector.dashboard.test_pages import failing_host
from tests.collector.helpers import T0, Harness, result

OTHER = "Other AG"


def test_problems_are_grouped_per_customer_and_marked(site: Harness) -> None:
    apply(site, contract())
    apply(site, contract(OTHER))
    _, acked = failing_host(site, "web01", OTHER)
    _, fresh = failing_host(site, "shop01", CUSTOMER)
    r = site.post(f"/api/v1/tickets/{acked}/acknowledge", {"message": "on it"})
    assert r.status_code == 200, r.text
    window = {"customer": CUSTOMER, "name": "db upgrade", "scope": "host:db01",
              "from": "2026-11-22T09:00:00Z", "to": "2026-11-22T12:00:00Z", "reason": "upgrade to 16"}
    assert site.post("/api/v1/windows", window).status_code == 201
    site.enroll("db01", CUSTOMER)
    assert site.report("db01", [result("pg", 1, T0, summary="replica lagging")]).status_code == 200
    page = sign_in(site.client, site.admin_token).get("/").text
    problems = page.split("<h2>Problems</h2>")[1].split("</section>")[0]
    rows = problems.split("<tr class=")[1:]
    customers = [next(c for c in (CUSTOMER, OTHER) if f"<td>{c}</td>" in row) for row in rows]
    assert customers == [CUSTOMER, CUSTOMER, OTHER]  # grouped, by customer name
    by_host = {host: next(r for r in rows if f">{host}</a>" in r) for host in ("web01", "shop01", "db01")}
    assert f'href="/tickets/{acked}">acknowledged #{acked}</a>' in by_host["web01"]
    assert f'href="/tickets/{fresh}">ticket #{fresh}</a>' in by_host["shop01"]
    assert "in maintenance" in by_host["db01"] and 'title="db upgrade"' in by_host["db01"]
    assert "in maintenance" not in by_host["shop01"]
