"""The ticket queue page on SQLite and PostgreSQL: filters, sorting by SLA due time, marks, paging bounds,
bad parameters (422 page, never 500), customer scoping, escaping, and the ticket page's delivery log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fernwart.collector.models import Ticket
from fernwart.collector.services import auth
from fernwart.collector.services.read import queue
from tests.collector.dashboard.conftest import ESCAPED, HOSTILE, browser, hidden, sign_in
from tests.collector.dashboard.test_pages import failing_host
from tests.collector.helpers import T0, Harness, result


def ticket_ids(page: str) -> list[int]:
    """Return the ticket ids of the queue's rows, in order."""
    body = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    return [int(n) for n in re.findall(r'<tr[^>]*>\s*<td><a href="/tickets/(\d+)">', body)]


def many_tickets(site: Harness, count: int, customer: str = "Muster GmbH") -> list[int]:
    """Open `count` tickets (one check each) on one host of `customer`; return their ids."""
    site.enroll("web01", customer)
    results = [result(f"c{i:03}", 2, T0, max_attempts=1) for i in range(count)]
    assert site.report("web01", results).status_code == 200
    return sorted(int(t["id"]) for t in site.get("/api/v1/tickets", limit=count))


def test_the_queue_sorts_by_sla_due_time_and_marks_breaches_and_warnings(site: Harness) -> None:
    ids = many_tickets(site, 3)
    with site.sessions() as db:
        rows = {t.id: t for t in db.scalars(select(Ticket))}
        rows[ids[0]].response_due = T0 + timedelta(hours=5)
        rows[ids[1]].response_due = T0 + timedelta(hours=1)
        rows[ids[1]].response_breached_at = T0 + timedelta(hours=1)
        rows[ids[2]].response_due = T0 + timedelta(hours=3)
        rows[ids[2]].response_warned_at = T0 + timedelta(hours=2)
        rows[ids[0]].priority, rows[ids[1]].priority, rows[ids[2]].priority = "P1", "P2", "P3"
        db.commit()
    client = sign_in(site.client, site.admin_token)
    page = client.get("/tickets").text
    assert ticket_ids(page) == [ids[1], ids[2], ids[0]]
    assert ticket_ids(client.get("/tickets?sort=-due").text) == [ids[0], ids[2], ids[1]]
    assert f'class="mark-breached">\n      <td><a href="/tickets/{ids[1]}"' in page
    assert f'class="mark-warning">\n      <td><a href="/tickets/{ids[2]}"' in page
    assert ">Muster GmbH<" in page and "response</small>" in page
    assert ticket_ids(client.get("/tickets?priority=P3").text) == [ids[2]]
    assert ticket_ids(client.get("/tickets?sort=priority").text) == ids


def test_the_queue_filters_by_level_and_customer(site: Harness) -> None:
    _, own = failing_host(site, "shop01", customer="Muster GmbH")
    _, other = failing_host(site, "erp01", customer="Other AG")
    with site.sessions() as db:
        ticket = db.get(Ticket, other)
        assert ticket is not None
        ticket.level = 2
        db.commit()
    client = sign_in(site.client, site.admin_token)
    assert ticket_ids(client.get("/tickets?customer=Other+AG").text) == [other]
    assert ticket_ids(client.get("/tickets?level=2").text) == [other]
    assert ticket_ids(client.get("/tickets?level=1").text) == [own]
    assert ticket_ids(client.get("/tickets?level=&priority=&customer=").text) != []


def test_paging_is_bounded_and_never_repeats_or_skips_a_ticket(site: Harness) -> None:
    ids = many_tickets(site, 7)
    client = sign_in(site.client, site.admin_token)
    seen: list[int] = []
    for number in (1, 2, 3):
        page = client.get(f"/tickets?size=3&page={number}&sort=opened").text
        seen += ticket_ids(page)
        assert f"page {number} of 3 · 7 tickets" in page
    assert sorted(seen) == ids and len(seen) == len(set(seen))
    beyond = client.get("/tickets?size=3&page=4")
    assert beyond.status_code == 200 and ticket_ids(beyond.text) == []
    assert 'rel="next"' in client.get("/tickets?size=3").text


@pytest.mark.parametrize(
    "query",
    [
        "state=bogus",
        "size=0",
        f"size={queue.MAX_PAGE_SIZE + 1}",
        f"page={queue.MAX_PAGE + 1}",
        "page=-1",
        "page=1e9",
        "page=%EF%BC%91",  # a fullwidth digit: isdigit() but not ASCII
        "level=x",
        "sort=title",
        "sort=--due",
        "customer=%00",
        "priority=" + "p" * 201,
    ],
)
def test_bad_queue_parameters_answer_a_422_page(site: Harness, query: str) -> None:
    client = sign_in(site.client, site.admin_token)
    r = client.get(f"/tickets?{query}")
    assert r.status_code == 422, r.text
    assert "text/html" in r.headers["content-type"]
    assert "expected" in r.text or "printable" in r.text


def test_a_customer_sees_only_its_own_tickets_and_no_other_customer_in_the_filter(site: Harness) -> None:
    _, own = failing_host(site, "shop01", customer="Muster GmbH")
    _, other = failing_host(site, "erp01", customer="Other AG")
    with site.sessions() as db:
        token = auth.create_user(db, "muster", "level1", site.clock.now, customer="Muster GmbH")
        db.commit()
    client = sign_in(browser(site), token)
    page = client.get("/tickets?state=all").text
    assert ticket_ids(page) == [own] and "Other AG" not in page and "erp01" not in page
    assert ticket_ids(client.get("/tickets?customer=Other+AG").text) == []
    assert client.get(f"/tickets/{other}").status_code == 404


def test_hostile_text_is_escaped_in_the_queue(site: Harness) -> None:
    failing_host(site, "web01", customer=HOSTILE)  # its check output (the ticket's title) is hostile too
    client = sign_in(site.client, site.admin_token)
    for path in ("/tickets", f"/tickets?customer={HOSTILE}"):
        page = client.get(path).text
        assert HOSTILE not in page and ESCAPED in page, path


def test_the_ticket_page_shows_its_delivery_log(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    page = client.get(f"/tickets/{ticket_id}").text
    assert "<h2>Notifications</h2>" in page


def test_a_checks_metric_history_is_an_svg_chart_with_escaped_labels(site: Harness) -> None:
    site.enroll("web01")
    for minutes, value in ((0, 1.0), (1, 3.0), (2, 2.0)):
        metric = {"label": HOSTILE, "value": value, "uom": "s"}
        r = {**result("app", 0, T0 + timedelta(minutes=minutes)), "metrics": [metric]}
        assert site.report("web01", [r]).status_code == 200
    host_id = site.get("/api/v1/hosts")[0]["id"]
    client = sign_in(site.client, site.admin_token)
    page = client.get(f"/hosts/{host_id}", params={"check": "app"}).text
    chart = page.split('<svg xmlns="http://www.w3.org/2000/svg" class="chart"')[1].split("</svg>")[0]
    assert chart.count("<polyline") == 1 and HOSTILE not in page
    assert f"{ESCAPED}: 3 values from 1s to 3s" in chart
    assert 'class="chart"' not in client.get(f"/hosts/{host_id}").text  # all checks: no chart


def test_tickets_are_acknowledged_in_bulk_from_the_queue(site: Harness) -> None:
    numbers = [failing_host(site, name)[1] for name in ("web01", "web02", "web03")]
    admin = sign_in(site.client, site.admin_token)
    queue = admin.get("/tickets").text
    assert all(f'name="ticket" value="{n}" form="bulk"' in queue for n in numbers)
    csrf = hidden(queue, "csrf")
    first = admin.post(f"/tickets/{numbers[0]}/acknowledge", data={"csrf": csrf}, follow_redirects=False)
    assert first.status_code == 303
    ticked = {"csrf": csrf, "action": "acknowledge", "ticket": numbers, "message": "storm: on it"}
    done = admin.post("/tickets/bulk", data=ticked)
    assert done.status_code == 200
    assert "Acknowledge: 2 done, 1 refused" in done.text and "acknowledged already" in done.text
    assert [site.get(f"/api/v1/tickets/{n}")["state"] for n in numbers] == ["acknowledged"] * 3
    assert admin.post("/tickets/bulk", data={**ticked, "csrf": "x"}).status_code == 403
    assert admin.post("/tickets/bulk", data={**ticked, "action": "resolve"}).status_code == 422
    assert admin.post("/tickets/bulk", data={"csrf": csrf, "action": "acknowledge"}).status_code == 422

    with site.sessions() as db:
        token = auth.create_user(db, "viewer", "level1", site.clock.now, customer="Muster GmbH")
        db.commit()
    customer = sign_in(browser(site), token)
    page = customer.get("/tickets").text
    assert 'action="/tickets/bulk"' not in page
    refused = customer.post("/tickets/bulk", data={**ticked, "csrf": hidden(page, "csrf")})
    assert refused.status_code == 200 and "0 done, 3 refused" in refused.text  # none is its own: 404 each
