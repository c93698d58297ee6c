"""GET /api/v1/reports/monthly on real databases: figures equal the availability and tickets APIs', every
format renders (the PDF read back by poppler's real `pdftotext`), hostile names stay text, closed months
are stored once made and a revision says why."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fernwart.collector.services import auth
from tests.collector.api.contract_helpers import CUSTOMER, OCT, OCT_SECONDS, apply, contract
from tests.collector.helpers import BACKFILL, Harness, harness, result
from tests.support import require

pytestmark = pytest.mark.usefixtures("database_url")
MINUTE = timedelta(minutes=1)
HOSTILE = "<script>alert(1)</script>\x07"


def _get(h: Harness, token: str | None = None, **params: str) -> Any:
    return h.client.get("/api/v1/reports/monthly", params={"customer": CUSTOMER, **params},
                        headers={"Authorization": f"Bearer {token or h.admin_token}"})


def _october(h: Harness, summary: str = "") -> None:
    """web01's 'app' CRITICAL on Oct 10 from 12:00 for 2 hours (P1: the 30 min response is breached)."""
    apply(h, contract())
    h.enroll("web01", CUSTOMER)
    down = OCT + timedelta(days=9, hours=12)
    r = h.report("web01", [result("app", 0, OCT, max_attempts=1),
                           result("app", 2, down, summary=summary, max_attempts=1),
                           result("app", 0, down + 120 * MINUTE, max_attempts=1)])
    assert r.status_code == 200, r.text


def test_figures_are_the_availability_and_tickets_apis(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        _october(h)
        found = _get(h, month="2026-10")
        assert found.status_code == 200, found.text
        report = found.json()
        served = h.get("/api/v1/availability", customer=CUSTOMER, month="2026-10")
        tickets = h.get("/api/v1/tickets", state="all")
    for name in ("sli", "target", "met", "counted_seconds", "downtime_seconds", "maintenance_seconds",
                 "no_data_seconds", "outside_hours_seconds", "error_budget_seconds", "excluded_seconds",
                 "planned_seconds", "period_budget_seconds", "budget_spent_seconds",
                 "period_budget_left_seconds", "hosts_summed", "measured_seconds"):
        assert report["availability"][name] == served[name], name
    assert [h["host"] for h in report["hosts"]] == [h["host"] for h in served["hosts"]]
    assert report["hosts"][0]["downtime_seconds"] == served["hosts"][0]["downtime_seconds"] == 7200
    assert [(o["start"], o["end"]) for o in report["outages"]] == [(o["start"], o["end"])
                                                                    for o in served["outages"]]
    [ticket] = tickets
    assert report["outages"][0]["tickets"][0]["id"] == ticket["id"]
    assert report["tickets"]["priorities"] == [{
        "priority": "P1", "tickets": 1, "response_met": 0, "response_breached": 1, "response_open": 0,
        "resolution_met": 1, "resolution_breached": 0, "resolution_open": 0}]
    [breach] = report["tickets"]["breaches"]
    assert (breach["ticket"], breach["clock"]) == (ticket["id"], "response")
    assert breach["due"] == "2026-10-10T12:30:00Z"
    assert breach["reason"] == ("resolved without acknowledgement 90 business minutes after the response"
                                " target")
    sli = 100 * (OCT_SECONDS - 7200) / OCT_SECONDS  # 99.731 %
    assert report["availability"]["sli"] == pytest.approx(sli)
    assert report["summary"] == "target 99.9 % missed: 99.73 %, 1 outage, 1 breach"
    assert report["revision"] == {"number": 1, "reason": "", "made_by": "admin"}
    assert [c["type"] for c in report["checks"]] == ["plugin"] and report["checks"][0]["runs"] == 3


def test_pdf_text_carries_the_summary_line(database_url: str, tmp_path: Path) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    with harness(database_url, result_max_age=BACKFILL) as h:
        _october(h)
        found = _get(h, month="2026-10", format="pdf")
    assert found.status_code == 200 and found.headers["content-type"] == "application/pdf"
    assert 'filename="sla-report-Muster-GmbH-2026-10.pdf"' in found.headers["content-disposition"]
    (tmp_path / "report.pdf").write_bytes(found.content)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "target 99.9 % missed: 99.73 %, 1 outage, 1 breach" in text
    assert "Monthly SLA report: Muster GmbH, 2026-10" in text and "web01" in text


def test_hostile_output_and_window_names_stay_text(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        _october(h, summary=HOSTILE)
        r = h.post("/api/v1/windows", {
            "customer": CUSTOMER, "name": "<img src=x onerror=alert(2)>", "scope": "check:@SUM",
            "from": "2026-10-20T01:00:00Z", "to": "2026-10-20T02:00:00Z", "reason": "=HYPERLINK(\"x\")",
        })
        assert r.status_code == 201, r.text
        page = _get(h, month="2026-10", format="html")
        archive = _get(h, month="2026-10", format="csv")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script>" not in page.text and "<img" not in page.text and "\x07" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\ufffd" in page.text
    assert "&lt;img src=x onerror=alert(2)&gt;" in page.text
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        names = sorted(n.rsplit("/", 1)[1] for n in z.namelist())
        stem = "sla-report-Muster-GmbH-2026-10"
        windows = list(csv.reader(io.StringIO(z.read(f"{stem}/windows.csv").decode())))
        breaches = list(csv.reader(io.StringIO(z.read(f"{stem}/breaches.csv").decode())))
    assert names == ["availability.csv", "breaches.csv", "check_runs.csv", "outages.csv", "summary.csv",
                     "ticket_sla.csv", "windows.csv"]
    assert windows[1][0] == "<img src=x onerror=alert(2)>" and windows[1][5] == "'=HYPERLINK(\"x\")"
    assert "\x07" not in breaches[1][3] and "<script>" in breaches[1][3]


def test_a_closed_month_is_stored_and_a_revision_says_why(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        _october(h)
        first = _get(h, month="2026-10").json()
        h.post("/api/v1/windows", {"customer": CUSTOMER, "name": "late notice", "scope": "all",
                                   "from": "2026-10-10T11:00:00Z", "to": "2026-10-10T15:00:00Z",
                                   "reason": "announced after the fact"})
        h.clock.advance(hours=1)
        again = _get(h, month="2026-10").json()
        with h.sessions() as db:
            tech = auth.create_user(db, "tech", "level2", h.clock.now)
            db.commit()
        body = {"customer": CUSTOMER, "month": "2026-10", "reason": "window entered late"}
        refused = h.client.post("/api/v1/reports/monthly/revisions", json=body,
                                headers={"Authorization": f"Bearer {tech}"})
        no_reason = h.post("/api/v1/reports/monthly/revisions", {**body, "reason": " "})
        running = h.post("/api/v1/reports/monthly/revisions", {**body, "month": "2026-11"})
        made = h.post("/api/v1/reports/monthly/revisions", body)
        latest = _get(h, month="2026-10").json()
        page = _get(h, month="2026-10", format="html").text
        stored = h.get("/api/v1/reports/monthly/stored", customer=CUSTOMER)
        november = _get(h, month="2026-11").json()
        november_page = _get(h, month="2026-11", format="html").text
    assert again == first  # the late window does not silently rewrite what the customer got
    assert refused.status_code == 403 and no_reason.status_code == 422 and running.status_code == 422
    assert made.status_code == 201, made.text
    assert latest["revision"] == {"number": 2, "reason": "window entered late", "made_by": "admin"}
    assert latest["availability"]["downtime_seconds"] == 0
    assert latest["summary"].startswith("target 99.9 % met")
    assert "Revision 2 of this report (made by admin): window entered late" in page
    assert [(s["month"], s["revision"]) for s in stored] == [("2026-10", 1), ("2026-10", 2)]
    assert november["revision"] is None and november["period"]["closed"] is False
    # a running month shows the whole month's budget (30 d at 99.9 % = 43 min 12 s), not the part so far
    assert november["availability"]["period_budget_seconds"] == 2592
    assert "Error budget of the whole month: 43 min 12 s" in november_page
    closed = latest["availability"]
    assert closed["period_budget_left_seconds"] == closed["error_budget_seconds"]


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"customer": "Nobody AG", "month": "2026-10"}, 404, "customer 'Nobody AG' not found"),
    ({"month": "2026-13"}, 422, "month: bad month '2026-13'"),
    ({"month": "October"}, 422, "String should match pattern"),
    ({"month": "2026-12"}, 422, "in the future; there is no data yet"),
    ({"month": "1999-12"}, 422, "month: expected a time from 2000 to 2100"),
    ({"month": "2026-10", "format": "docx"}, 422, "format"),
    ({}, 422, "month"),
])
def test_bad_requests_answer_with_the_reason(database_url: str, params: dict[str, str], status: int,
                                             message: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        r = _get(h, **params)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_customer_accounts_see_only_their_own_reports(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        _october(h)
        apply(h, contract("Other AG"))
        with h.sessions() as db:
            own = auth.create_user(db, "muster", "level1", h.clock.now, customer=CUSTOMER)
            other = auth.create_user(db, "other", "level1", h.clock.now, customer="Other AG")
            db.commit()
        mine = _get(h, own, month="2026-10", format="pdf")
        theirs = _get(h, other, month="2026-10", format="pdf")
        listed = h.client.get("/api/v1/reports/monthly/stored", params={"customer": CUSTOMER},
                              headers={"Authorization": f"Bearer {other}"})
    assert mine.status_code == 200 and mine.content.startswith(b"%PDF")
    assert theirs.status_code == 404 and listed.status_code == 404
    assert theirs.json() == {"error": f"customer {CUSTOMER!r} not found"}


def test_a_clock_still_running_at_month_end_is_open_or_breached_with_that_reason(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        h.enroll("web01", CUSTOMER)
        late = OCT + timedelta(days=30, hours=21)  # Oct 31 21:00 UTC; never recovers
        r = h.report("web01", [result("app", 0, OCT, max_attempts=1), result("app", 2, late, max_attempts=1)])
        assert r.status_code == 200, r.text
        report = _get(h, month="2026-10").json()
    [p1] = report["tickets"]["priorities"]
    assert (p1["response_breached"], p1["resolution_open"], p1["resolution_breached"]) == (1, 1, 0)
    [breach] = report["tickets"]["breaches"]
    assert breach["stopped_at"] is None and breach["attainment_minutes"] is None
    assert breach["reason"] == "response clock not stopped by the end of the period, due 2026-10-31T21:30:00Z"
    assert report["summary"].endswith("1 outage, 1 breach")
