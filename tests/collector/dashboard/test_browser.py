"""The dashboard in real headless Chromium against a real `fernwart-collector serve` process.

Screenshots go to /tmp/fernwart-dashboard-*.png for a person to look at.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.collector.dashboard.conftest import HOSTILE
from tests.collector.helpers import result
from tests.e2e.processes import Api, Collector
from tests.support import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path("/tmp")


@pytest.fixture
def collector(database_url: str, tmp_path: Path) -> Iterator[Collector]:
    """Yield a running collector process on the test database."""
    process = Collector(tmp_path / "collector", database_url)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _failing_host(collector: Collector) -> str:
    """Enroll a host over HTTP and report a HARD CRITICAL whose summary is markup; return its agent token."""
    enrollment = collector.cli("token", "create", "--customer", "Muster GmbH")
    r = requests.post(
        f"{collector.url}/api/v1/enroll",
        json={"token": enrollment, "hostname": "web01", "os": "Linux"},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    host: dict[str, Any] = r.json()
    for _ in range(2):
        report = {
            "host_id": host["host_id"],
            "results": [result("app", 2, datetime.now(UTC), summary=HOSTILE, max_attempts=2)],
        }
        sent = requests.post(
            f"{collector.url}/api/v1/reports",
            json=report,
            headers={"Authorization": f"Bearer {host['agent_token']}"},
            timeout=5,
        )
        assert sent.status_code == 200, sent.text
    return str(host["host_id"])


@pytest.mark.browser
def test_a_technician_signs_in_and_acknowledges_a_ticket_in_chromium(collector: Collector) -> None:
    require(
        CHROMIUM.exists(), f"{CHROMIUM} not installed (Debian package chromium, scripts/install-system-deps)"
    )
    require(importlib.util.find_spec("playwright") is not None, "Python package playwright not installed")
    from playwright.sync_api import Dialog, sync_playwright

    token = collector.cli("user", "add", "alice", "--role", "admin")
    _failing_host(collector)
    api = Api(collector.url, token)
    [ticket] = api.get("/api/v1/tickets")
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.on("dialog", refuse)

            page.goto(f"{collector.url}/tickets/{ticket['id']}")
            assert page.url == f"{collector.url}/login?next=%2Ftickets%2F{ticket['id']}"
            page.fill("#token", token)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(f"{collector.url}/tickets/{ticket['id']}")
            cookie = next(c for c in page.context.cookies() if c["name"] == "fernwart_session")
            assert cookie.get("httpOnly") is True and cookie.get("sameSite") == "Strict"
            assert page.evaluate("document.cookie") == ""  # scripts cannot read the session

            page.goto(f"{collector.url}/")
            assert page.locator("td.summary").first.inner_text() == HOSTILE  # shown as text
            assert page.locator("body script").count() == 0 and page.locator("img").count() == 0
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-overview.png"), full_page=True)

            page.click("td >> text=web01")
            assert page.locator(".perf .label").first.inner_text() == "v"
            assert page.locator("body script").count() == 0 and page.locator("img").count() == 0
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-host.png"), full_page=True)

            page.click("nav >> text=Tickets")
            page.click(f"td a[href='/tickets/{ticket['id']}'] >> nth=0")
            page.fill("#message", "On it: restarting the app service.")
            page.click("button:has-text('Acknowledge')")
            page.wait_for_load_state()
            assert page.locator("h1 .tstate").inner_text() == "acknowledged"
            history = page.locator("ol.history").inner_text()
            assert "acknowledged by alice" in history and "On it: restarting the app service." in history
            assert page.locator("button:has-text('Acknowledge')").count() == 0
            assert page.locator("main script").count() == 0 and page.locator("main img").count() == 0
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-ticket.png"), full_page=True)

            page.click("button:has-text('Sign out')")
            page.wait_for_url(f"{collector.url}/login")
            page.goto(f"{collector.url}/")
            assert page.url == f"{collector.url}/login"
        finally:
            chromium.close()

    assert dialogs == []
    assert api.get(f"/api/v1/tickets/{ticket['id']}")["state"] == "acknowledged"


@pytest.mark.browser
def test_a_customer_walks_the_queue_host_and_reports_pages_in_chromium(collector: Collector) -> None:
    require(
        CHROMIUM.exists(), f"{CHROMIUM} not installed (Debian package chromium, scripts/install-system-deps)"
    )
    require(importlib.util.find_spec("playwright") is not None, "Python package playwright not installed")
    from playwright.sync_api import sync_playwright

    host_id = _failing_host(collector)
    token = collector.cli("user", "add", "muster", "--role", "level1", "--customer", "Muster GmbH")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{collector.url}/tickets")
            page.fill("#token", token)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(f"{collector.url}/tickets")
            page.select_option("select[name=sort]", "-opened")
            page.click("button:has-text('Show')")  # a plain GET form: no script needed
            page.wait_for_url("**/tickets?*sort=-opened*")
            assert page.locator("table.queue tbody tr").count() == 1
            assert page.locator("table.queue td.summary").first.inner_text().endswith(HOSTILE)
            assert page.locator("select[name=customer]").count() == 0  # a customer filters nothing else
            assert page.locator("body script").count() == 0
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-queue.png"), full_page=True)

            page.goto(f"{collector.url}/hosts/{host_id}?check=app")
            assert page.locator("svg.chart").count() == 1
            assert page.locator("#windows").inner_text().count("No maintenance windows") == 1
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-host-chart.png"), full_page=True)

            page.click("nav >> text=Reports")
            page.click("ul.customers a >> text=Muster GmbH")
            assert page.locator("table.reports a.format").count() == 4 * 12
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-reports.png"), full_page=True)
            page.goto(f"{collector.url}/reports?customer=Other+AG")
            assert page.locator("h1").inner_text().startswith("404") or "No such customer" in page.content()
        finally:
            chromium.close()


@pytest.mark.browser
def test_a_customer_on_a_phone_requests_service_comments_and_reads_the_timeline_in_chromium(
    collector: Collector,
) -> None:
    require(
        CHROMIUM.exists(), f"{CHROMIUM} not installed (Debian package chromium, scripts/install-system-deps)"
    )
    require(importlib.util.find_spec("playwright") is not None, "Python package playwright not installed")
    from playwright.sync_api import sync_playwright

    host_id = _failing_host(collector)
    other = collector.cli("token", "create", "--customer", "Other AG")
    enroll = {"token": other, "hostname": "db01"}
    foreign = requests.post(f"{collector.url}/api/v1/enroll", json=enroll, timeout=5)
    assert foreign.status_code == 201, foreign.text
    token = collector.cli("user", "add", "muster", "--role", "level1", "--customer", "Muster GmbH")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
            page.goto(f"{collector.url}/tickets")
            page.fill("#token", token)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(f"{collector.url}/tickets")
            header = page.locator("header.bar").bounding_box()
            sign_out = page.locator("button:has-text('Sign out')").bounding_box()
            assert header and sign_out and sign_out["x"] + sign_out["width"] <= 390
            assert sign_out["y"] + sign_out["height"] <= header["y"] + header["height"]  # inside the bar
            title = page.locator("table.queue td.summary").first.bounding_box()
            assert title and title["width"] >= 150  # a title reads as words, not a column of letters
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-phone-queue.png"), full_page=True)

            page.click("text=New service request")
            page.fill("#title", "Add a mailbox")
            page.fill("#description", f"for the new colleague {HOSTILE}")
            page.select_option("#urgency", "normal")
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-phone-request.png"), full_page=True)
            page.click("button:has-text('Open request')")
            page.wait_for_url("**/tickets/*")
            assert "web01: Add a mailbox" in page.locator("p.title").inner_text()
            page.fill("#message", "Any time after 14:00.")
            page.click("button:has-text('Comment')")
            page.wait_for_load_state()
            history = page.locator("ol.history").inner_text()
            assert "comment by muster" in history and HOSTILE in history  # shown as text
            assert page.locator("body script").count() == 0
            shot = SCREENSHOTS / "fernwart-dashboard-phone-request-ticket.png"
            page.screenshot(path=str(shot), full_page=True)

            page.goto(f"{collector.url}/hosts/{host_id}")
            assert page.locator("svg.timeline rect").count() >= 2  # host and app rows
            assert "Last delivery" in page.locator("#delivery").inner_text()
            assert page.locator("time").first.get_attribute("title", timeout=5000).endswith(" UTC")
            page.screenshot(path=str(SCREENSHOTS / "fernwart-dashboard-phone-host.png"), full_page=True)

            answer = page.goto(f"{collector.url}/hosts/{foreign.json()['host_id']}")
            assert answer is not None and answer.status == 404 and "db01" not in page.content()
            answer = page.goto(f"{collector.url}/reports/monthly?customer=Other+AG&month=2026-10&format=pdf")
            assert answer is not None and answer.status == 404
        finally:
            chromium.close()
