"""The host page's metric charts over days: raw results bucketed, and past the raw retention the rollups
housekeeping left (one chart, the same figures whether a value is raw or rolled up)."""

from __future__ import annotations

from datetime import timedelta

from fernwart.collector.services import housekeeping
from tests.collector.dashboard.conftest import ESCAPED, HOSTILE, sign_in
from tests.collector.helpers import T0, Harness, result


def _report(site: Harness, at_values: list[tuple[timedelta, float]]) -> None:
    batch = []
    for ago, value in at_values:
        metric = {"label": HOSTILE, "value": value, "uom": "s"}
        batch.append({**result("app", 0, T0 - ago), "metrics": [metric]})
    assert site.report("web01", batch).status_code == 200


def _chart(page: str) -> str:
    return page.split('<svg xmlns="http://www.w3.org/2000/svg" class="chart"')[1].split("</svg>")[0]


def test_charts_over_days_use_rollups_past_the_raw_retention(site: Harness) -> None:
    site.enroll("web01")
    old = timedelta(days=34)
    _report(site, [(old, 4.0), (old - timedelta(minutes=1), 8.0), (timedelta(hours=3), 1.0),
                   (timedelta(hours=2), 2.0)])
    host_id = site.get("/api/v1/hosts")[0]["id"]
    client = sign_in(site.client, site.admin_token)
    before = _chart(client.get(f"/hosts/{host_id}", params={"check": "app", "days": 93}).text)
    keep = housekeeping.Retention(results=timedelta(days=31))
    outcome = housekeeping.run(site.sessions, T0 + timedelta(days=1, minutes=1), keep)  # past the retry grace
    assert outcome is not None and outcome.results_downsampled == 2
    page = client.get(f"/hosts/{host_id}", params={"check": "app", "days": 93}).text
    after = _chart(page)
    assert after == before  # the two old values now come from the hourly rollup
    assert f"{ESCAPED}: 3 hourly averages, min 1s, max 8s" in after and HOSTILE not in page
    assert "<polygon" in after and after.count("<polyline") == 1
    week = _chart(client.get(f"/hosts/{host_id}", params={"check": "app", "days": 7}).text)
    assert f"{ESCAPED}: 2 hourly averages, min 1s, max 2s" in week
    day = _chart(client.get(f"/hosts/{host_id}", params={"check": "app", "days": 1}).text)
    assert f"{ESCAPED}: 2 5-minute averages" in day
    assert client.get(f"/hosts/{host_id}", params={"check": "app", "days": 5}).status_code == 422
