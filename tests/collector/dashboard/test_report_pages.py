"""Dashboard reports pages on SQLite and PostgreSQL: months and formats per customer, downloads equal the
API's report, customer accounts reach only their own customer, bad parameters are a 422 page."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fernwart.collector.services import auth
from tests.collector.api.contract_helpers import CUSTOMER, OCT, apply, contract
from tests.collector.dashboard.conftest import browser, sign_in
from tests.collector.helpers import BACKFILL, Harness, harness, result


@pytest.fixture
def reported(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    """Yield a collector whose CUSTOMER has a contract and a host reporting through October 2026."""
    with harness(database_url, home=tmp_path / "home", result_max_age=BACKFILL) as h:
        apply(h, contract())
        h.enroll("web01", CUSTOMER)
        assert h.report("web01", [result("app", 0, OCT, max_attempts=1)]).status_code == 200
        h.enroll("erp01", "Other AG")
        yield h


def test_the_reports_page_lists_months_with_every_format(reported: Harness) -> None:
    client = sign_in(reported.client, reported.admin_token)
    index = client.get("/reports")
    assert index.status_code == 200 and CUSTOMER in index.text and "Other AG" in index.text
    page = client.get("/reports", params={"customer": CUSTOMER}).text
    for fmt in ("html", "pdf", "csv", "json"):
        assert f"month=2026-10&amp;format={fmt}" in page, fmt
    assert "(running, provisional)" in page


def test_a_download_is_the_apis_report(reported: Harness) -> None:
    client = sign_in(reported.client, reported.admin_token)
    params = {"customer": CUSTOMER, "month": "2026-10"}
    got = client.get("/reports/monthly", params={**params, "format": "json"})
    assert got.status_code == 200, got.text
    api = reported.client.get("/api/v1/reports/monthly", params=params,
                              headers={"Authorization": f"Bearer {reported.admin_token}"}).json()
    assert got.json() == api and got.json()["revision"]["number"] == 1
    assert "revision 1" in client.get("/reports", params={"customer": CUSTOMER}).text
    html = client.get("/reports/monthly", params={**params, "format": "html"})
    assert html.headers["content-type"].startswith("text/html") and api["summary"] in html.text
    assert "script-src" not in html.headers["content-security-policy"]
    csv = client.get("/reports/monthly", params={**params, "format": "csv"})
    assert csv.headers["content-disposition"].startswith("attachment")
    assert zipfile.ZipFile(io.BytesIO(csv.content)).namelist()


def test_a_customer_account_reaches_only_its_own_reports(reported: Harness) -> None:
    with reported.sessions() as db:
        token = auth.create_user(db, "muster", "level1", reported.clock.now, customer=CUSTOMER)
        db.commit()
    client = sign_in(browser(reported), token)
    index = client.get("/reports").text
    assert CUSTOMER in index and "Other AG" not in index
    assert client.get("/reports", params={"customer": "Other AG"}).status_code == 404
    other = {"customer": "Other AG", "month": "2026-10", "format": "json"}
    assert client.get("/reports/monthly", params=other).status_code == 404
    own = client.get("/reports/monthly", params={**other, "customer": CUSTOMER})
    assert own.status_code == 200 and own.json()["customer"]


@pytest.mark.parametrize(
    "params",
    [
        {"month": "2026-13", "format": "json"},
        {"month": "26-10", "format": "json"},
        {"month": "2026-10", "format": "docx"},
        {"month": "", "format": ""},
    ],
)
def test_bad_report_parameters_are_a_422_page(reported: Harness, params: dict[str, str]) -> None:
    client = sign_in(reported.client, reported.admin_token)
    got = client.get("/reports/monthly", params={"customer": CUSTOMER, **params})
    assert got.status_code == 422 and "text/html" in got.headers["content-type"]


def test_a_month_not_begun_is_refused_with_a_page_not_a_500(reported: Harness) -> None:
    client = sign_in(reported.client, reported.admin_token)
    got = client.get("/reports/monthly", params={"customer": CUSTOMER, "month": "2099-01", "format": "json"})
    assert got.status_code == 422 and "text/html" in got.headers["content-type"]


def test_the_host_page_lists_the_windows_that_cover_it(reported: Harness) -> None:
    nightly = {"name": "patch night", "every": "sun 02:00-04:00"}
    apply(reported, contract(maintenance_windows=[nightly]))
    for name, scope in (("disk swap", "host:web01"), ("erp move", "host:erp01")):
        created = reported.post("/api/v1/windows", {
            "customer": CUSTOMER, "name": name, "scope": scope, "from": "2026-11-22T12:00:00Z",
            "to": "2026-11-22T14:00:00Z", "reason": "<b>RMA</b> disk"})
        assert created.status_code == 201, created.text
    web01 = next(h["id"] for h in reported.get("/api/v1/hosts") if h["name"] == "web01")
    client = sign_in(reported.client, reported.admin_token)
    page = client.get(f"/hosts/{web01}").text.split('<section id="windows">')[1].split("</section>")[0]
    assert "patch night" in page and "sun 02:00-04:00 UTC" in page
    assert "disk swap" in page and "erp move" not in page
    assert "&lt;b&gt;RMA&lt;/b&gt; disk" in page and "2026-11-22 12:00:00 UTC" in page
