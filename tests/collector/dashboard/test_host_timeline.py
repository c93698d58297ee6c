"""The host page's state timeline, agent delivery and times in the viewer's timezone (SQLite, PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fernwart.collector.dashboard import charts
from fernwart.collector.services import auth
from fernwart.collector.services.read.timeline import NO_DATA, HostTimeline, ObjectTimeline, Span, shift_month
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract, history
from tests.collector.dashboard.conftest import browser, hidden, sign_in
from tests.collector.helpers import BACKFILL, T0, Harness, harness, result

NOV = datetime(2026, 11, 1, tzinfo=UTC)


def _rects(page: str) -> list[str]:
    """Return the titles of the timeline's bars."""
    svg = page.split('class="timeline"')[1].split("</svg>")[0]
    return re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", svg)


def test_the_host_page_draws_the_months_hard_states_in_the_contracts_timezone(
    database_url: str, tmp_path: Path
) -> None:
    with harness(database_url, home=tmp_path / "home", result_max_age=BACKFILL) as site:
        apply(site, contract(timezone="Europe/Berlin"))
        host_id, _ = site.enroll("web01", CUSTOMER)
        history(site, "web01", "app", [
            (datetime(2026, 10, 20, tzinfo=UTC), 0),
            (datetime(2026, 11, 10, 12, tzinfo=UTC), 2),
            (datetime(2026, 11, 10, 13, tzinfo=UTC), 0),
        ])
        with site.sessions() as db:
            token = auth.create_user(db, "muster", "level1", site.clock.now, customer=CUSTOMER)
            db.commit()
        page = sign_in(browser(site), token).get(f"/hosts/{host_id}")
        assert page.status_code == 200
        titles = _rects(page.text)
        # the month starts at local midnight (2026-11-01 00:00 CET = 10-31 23:00 UTC); OK carried over
        assert "app: OK from 2026-11-01 00:00:00 CET to 2026-11-10 13:00:00 CET" in titles
        assert "app: CRITICAL from 2026-11-10 13:00:00 CET to 2026-11-10 14:00:00 CET" in titles
        assert "app: OK from 2026-11-10 14:00:00 CET to 2026-11-22 11:00:00 CET" in titles  # drawn up to now
        assert "State timeline 2026-11" in page.text and "(Europe/Berlin)" in page.text
        assert 'href="?month=2026-10#timeline"' in page.text and "?month=2026-12" not in page.text
        # times elsewhere on the page: the contract's zone, UTC on hover
        assert (
            '<time datetime="2026-11-22T10:00:00Z" title="2026-11-22 10:00:00 UTC">'
            "2026-11-22 11:00:00 CET</time>" in page.text
        )
        assert "Times are shown in Europe/Berlin (UTC on hover)." in page.text

        admin = sign_in(browser(site), site.admin_token)
        october = admin.get(f"/hosts/{host_id}", params={"month": "2026-10"})
        titles = _rects(october.text)
        # admin without a chosen zone reads UTC; before the first change: no data
        assert titles[0].startswith("app: no data from 2026-09-30 22:00:00 UTC to 2026-10-20 00:00:00 UTC")
        assert 'href="?month=2026-11#timeline"' in october.text
        for bad in ("2026-13", "nonsense", "1999-12"):
            assert browser_get(site, host_id, bad) == 422


def browser_get(site: Harness, host_id: str, month: str) -> int:
    client = sign_in(browser(site), site.admin_token)
    return int(client.get(f"/hosts/{host_id}", params={"month": month}).status_code)


def test_the_host_page_shows_the_last_delivery_and_a_replay_from_the_outbox(site: Harness) -> None:
    host_id, _ = site.enroll("web01")
    client = sign_in(site.client, site.admin_token)
    assert "<dt>Last delivery</dt><dd>never</dd>" in client.get(f"/hosts/{host_id}").text
    site.clock.advance(minutes=1)
    old = T0 - timedelta(hours=2)
    assert site.report("web01", [result("app", 0, old), result("disk", 0, site.clock.now)]).status_code == 200
    page = client.get(f"/hosts/{host_id}").text
    delivery = page.split('id="delivery"')[1].split("</section>")[0]
    assert "2026-11-22 10:01:00 UTC" in delivery and "<dd>2</dd>" in delivery
    assert "2 h 01 min" in delivery and "replayed from the outbox" in delivery
    assert "not reported by the agent" in delivery


def test_a_technician_chooses_a_timezone_and_a_customer_may_not(site: Harness) -> None:
    apply(site, contract())
    client = sign_in(site.client, site.admin_token)
    form = client.get("/preferences")
    assert form.status_code == 200 and '<option value="Europe/Vienna"' in form.text
    csrf = hidden(form.text, "csrf")
    assert client.post("/preferences", data={"timezone": "Europe/Vienna"}).status_code == 403  # no token
    assert client.post("/preferences", data={"csrf": csrf, "timezone": "Mars/Olympus"}).status_code == 422
    chosen = {"csrf": csrf, "timezone": "Europe/Vienna"}
    done = client.post("/preferences", data=chosen, follow_redirects=False)
    assert done.status_code == 303
    site.enroll("web01", CUSTOMER)
    assert site.report("web01", [result("app", 0, T0)]).status_code == 200
    hosts = client.get("/hosts").text
    assert "Times are shown in Europe/Vienna" in hosts
    assert 'title="2026-11-22 10:00:00 UTC">2026-11-22 11:00:00 CET</time>' in hosts

    with site.sessions() as db:
        token = auth.create_user(db, "muster", "level1", site.clock.now, customer=CUSTOMER)
        db.commit()
    customer = sign_in(browser(site), token)
    page = customer.get("/preferences")
    assert "Times are shown in <strong>UTC</strong>" in page.text and "<select" not in page.text
    wanted = {"csrf": hidden(page.text, "csrf"), "timezone": "Asia/Tokyo"}
    refused = customer.post("/preferences", data=wanted)
    assert refused.status_code == 403


def test_the_timeline_svg_shows_hostile_names_as_text() -> None:
    name = "<script>alert(1)</script>\x00\x07evil&"
    start = datetime(2026, 2, 28, 23, tzinfo=UTC)  # March in Europe/Berlin
    end = datetime(2026, 3, 31, 22, tzinfo=UTC)
    fourth = start + timedelta(days=3)
    spans = (Span(start, fourth, NO_DATA), Span(fourth, end, "CRITICAL"))
    timeline = HostTimeline("2026-03", "Europe/Berlin", start, end, end, (ObjectTimeline(name, spans),))
    svg = str(charts.state_timeline(timeline, lambda at: at.strftime("%d %H:%M")))
    assert "<script>" not in svg and "\x00" not in svg and "\x07" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\ufffd\ufffdevil&amp;" in svg  # full name in the title
    assert "no data from 28 23:00 to 03 23:00" in svg and "CRITICAL from 03 23:00 to 31 22:00" in svg
    # a tick per local day of March: 31 lines (the DST switch on the 29th keeps local midnights)
    assert svg.count("<line ") == 31


def test_months_shift_across_years() -> None:
    assert shift_month("2026-01", -1) == "2025-12"
    assert shift_month("2026-12", 1) == "2027-01"
