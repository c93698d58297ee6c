"""GET /api/v1/availability on real databases: hand-built histories, figures checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.services import auth, staleness
from tests.collector.api.contract_helpers import CUSTOMER, OCT, OCT_SECONDS, apply, contract, history
from tests.collector.helpers import BACKFILL, T0, Harness, harness

pytestmark = pytest.mark.usefixtures("database_url")
MINUTE = timedelta(minutes=1)


def _sweep(h: Harness) -> tuple[str, ...]:
    with h.sessions() as db:
        outcome = staleness.sweep(db, h.clock.now, timedelta(seconds=60), TicketPolicy())
        db.commit()
    return outcome.marked


def _report(h: Harness, **params: str) -> dict[str, object]:
    body: dict[str, object] = h.get("/api/v1/availability", customer=CUSTOMER, **params)
    return body


def _app_down_30_minutes(h: Harness) -> None:
    """Let check 'app' on web01 be OK all October except CRITICAL from the 10th 12:00 to 12:30 UTC."""
    h.enroll("web01", CUSTOMER)
    down = OCT + timedelta(days=9, hours=12)
    history(h, "web01", "app", [(OCT, 0), (down, 2), (down + 30 * MINUTE, 0)])


def test_host_unreachable_30_minutes_in_a_24x7_month(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        h.clock.now = OCT
        host_id, _ = h.enroll("web01", CUSTOMER)
        h.report("web01", [], heartbeat_interval=60)  # host up from Oct 1 00:00
        h.clock.now = OCT + timedelta(days=9, hours=12)
        assert _sweep(h) == ()  # the first sweep resumes sweeping: 3 minutes of grace
        h.clock.advance(minutes=3)
        assert _sweep(h) == (host_id,)  # unreachable from 12:03
        h.clock.advance(minutes=30)
        h.report("web01", [])  # reachable again at 12:33
        h.clock.now = T0
        body = _report(h, month="2026-10")
    assert body["counted_seconds"] == OCT_SECONDS and body["downtime_seconds"] == 1800
    assert body["sli"] == pytest.approx(100 * (OCT_SECONDS - 1800) / OCT_SECONDS)  # 99.9328 %
    assert body["error_budget_seconds"] == 878  # floor(2678400 * 0.001) - 1800, whole seconds
    assert body["met"] is True and body["target"] == 99.9
    assert body["period"] == {"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z",
                              "measured_to": "2026-11-01T00:00:00Z", "month": "2026-10", "timezone": "UTC"}
    [outage] = body["outages"]  # type: ignore[misc]
    assert (outage["host"], outage["objects"], outage["worst"]) == ("web01", ["host"], "CRITICAL")
    assert (outage["start"], outage["end"]) == ("2026-10-10T12:03:00Z", "2026-10-10T12:33:00Z")
    assert [(t["check"], t["state"]) for t in outage["tickets"]] == [("host", "resolved")]


def test_check_outage_counts_and_carries_its_ticket(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        _app_down_30_minutes(h)
        body = _report(h, month="2026-10")
        tickets = h.get("/api/v1/tickets", state="all")
    assert (body["downtime_seconds"], body["counted_seconds"]) == (1800, OCT_SECONDS)
    [host] = body["hosts"]  # type: ignore[misc]
    assert host["host"] == "web01" and host["outages"] == 1
    # reachability has no state before its first report (Nov 22), so it is not part of October
    assert [(o["name"], o["downtime_seconds"]) for o in host["objects"]] == [("app", 1800)]
    [outage] = body["outages"]  # type: ignore[misc]
    assert [t["id"] for t in outage["tickets"]] == [t["id"] for t in tickets if t["check"] == "app"]
    assert outage["tickets"][0]["priority"] == "P1"  # high criticality x critical


def test_a_window_excludes_the_outage_and_keeps_the_time_as_kept(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        _app_down_30_minutes(h)
        r = h.post("/api/v1/windows", {
            "customer": CUSTOMER, "name": "db move", "scope": "host:web01",
            "from": "2026-10-10T11:00:00Z", "to": "2026-10-10T13:00:00Z", "reason": "announced move",
        })
        assert r.status_code == 201, r.text
        body = _report(h, month="2026-10")
    assert (body["downtime_seconds"], body["maintenance_seconds"]) == (0, 7200)
    assert body["counted_seconds"] == OCT_SECONDS - 7200 and body["sli"] == 100.0
    assert body["outages"] == [] and body["excluded_seconds"] == 7200


def test_the_last_change_before_the_period_sets_its_start(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        h.enroll("web01", CUSTOMER)
        history(h, "web01", "app", [(OCT - timedelta(days=40), 0), (OCT - timedelta(hours=1), 2),
                                    (OCT + timedelta(hours=1), 0)])
        body = _report(h, month="2026-10")
    assert (body["downtime_seconds"], body["counted_seconds"]) == (3600, OCT_SECONDS)
    assert [o["start"] for o in body["outages"]] == ["2026-10-01T00:00:00Z"]  # type: ignore[attr-defined]


def test_service_hours_and_timezone_shape_month_and_outages(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract(timezone="Europe/Berlin", service_hours={"mon-fri": "08:00-18:00"}))
        h.enroll("web01", CUSTOMER)
        sat = datetime(2026, 10, 3, 10, tzinfo=UTC)  # a Saturday: outside service hours
        mon = datetime(2026, 10, 5, 15, 30, tzinfo=UTC)  # Monday 17:30 Berlin: 30 minutes count
        history(h, "web01", "app", [(datetime(2026, 9, 1, tzinfo=UTC), 0), (sat, 2), (sat + 60 * MINUTE, 0),
                                    (mon, 2), (mon + 60 * MINUTE, 0)])
        body = _report(h, month="2026-10")
    period = body["period"]
    assert period["start"] == "2026-09-30T22:00:00Z" and period["timezone"] == "Europe/Berlin"  # type: ignore[index]
    assert period["end"] == "2026-10-31T23:00:00Z"  # type: ignore[index]
    assert body["downtime_seconds"] == 1800
    assert body["counted_seconds"] == 22 * 10 * 3600  # 22 weekdays in October 2026, 10 hours each
    assert [(o["start"], o["end"]) for o in body["outages"]] == [  # type: ignore[attr-defined]
        ("2026-10-05T15:30:00Z", "2026-10-05T16:00:00Z")
    ]


def test_a_running_month_is_measured_up_to_now(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        _app_down_30_minutes(h)
        body = _report(h, month="2026-11")
        ranged = _report(h, **{"from": "2026-10-10T00:00:00Z", "to": "2026-10-11T00:00:00Z"})
    assert body["period"]["measured_to"] == "2026-11-22T10:00:00Z"  # type: ignore[index]
    assert body["counted_seconds"] == (21 * 24 + 10) * 3600 and body["downtime_seconds"] == 0
    assert (ranged["counted_seconds"], ranged["downtime_seconds"]) == (86400, 1800)
    assert ranged["period"]["month"] is None  # type: ignore[index]
    # the whole month's budget (Zabbix' figure) beside the one of the time measured so far
    measured = (21 * 24 + 10) * 3600
    assert body["error_budget_seconds"] == measured // 1000  # floor(counted * 0.001), nothing spent
    assert body["planned_seconds"] == 30 * 86400 - measured
    assert body["period_budget_seconds"] == 2592 and body["budget_spent_seconds"] == 0  # 30 d at 99.9 %
    assert body["period_budget_left_seconds"] == 2592
    assert ranged["budget_spent_seconds"] == 1800 and ranged["planned_seconds"] == 0
    assert ranged["period_budget_left_seconds"] == ranged["error_budget_seconds"] == 86 - 1800
    # the customer's figures are sums over its hosts and add up to hosts x measured time
    assert body["hosts_summed"] == 1 and body["measured_seconds"] == measured
    assert body["counted_seconds"] + body["excluded_seconds"] == measured


def test_without_a_contract_everything_counts_against_no_target(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        _app_down_30_minutes(h)
        day = OCT + timedelta(days=1)
        history(h, "web01", "other", [(OCT, 0), (day, 2), (day + 10 * MINUTE, 0)])
        body = _report(h, month="2026-10")
    assert body["contract"] is False and body["target"] is None and body["met"] is None
    assert body["downtime_seconds"] == 1800 + 600 and body["error_budget_seconds"] is None


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"customer": "Nobody AG", "month": "2026-10"}, 404, "customer 'Nobody AG' not found"),
    ({"customer": CUSTOMER, "month": "2026-13"}, 422, "month: bad month '2026-13'"),
    ({"customer": CUSTOMER, "month": "October"}, 422, "month: String should match pattern"),
    ({"customer": CUSTOMER}, 422, "period: give month=YYYY-MM, or both from and to"),
    ({"customer": CUSTOMER, "month": "2026-10", "from": "2026-10-01"}, 422, "period: give month"),
    ({"customer": CUSTOMER, "from": "2026-10-02", "to": "2026-10-01"}, 422, "period: end"),
    ({"customer": CUSTOMER, "from": "yesterday", "to": "2026-10-01"}, 422, "from: bad time 'yesterday'"),
    ({"customer": CUSTOMER, "month": "2026-12"}, 422, "in the future; there is no data yet"),
])
def test_bad_requests_answer_with_the_reason(database_url: str, params: dict[str, str], status: int,
                                             message: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        r = h.client.get("/api/v1/availability", params=params,
                         headers={"Authorization": f"Bearer {h.admin_token}"})
    assert r.status_code == status, r.text
    assert r.json()["error"].startswith(message) or message in r.json()["error"]


def test_customer_accounts_see_only_their_own_customer(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        apply(h, contract("Other AG"))
        _app_down_30_minutes(h)
        with h.sessions() as db:
            own = auth.create_user(db, "muster", "level1", h.clock.now, customer=CUSTOMER)
            other = auth.create_user(db, "other", "level1", h.clock.now, customer="Other AG")
            db.commit()
        params = {"customer": CUSTOMER, "month": "2026-10"}
        mine = h.client.get("/api/v1/availability", params=params, headers={"Authorization": f"Bearer {own}"})
        theirs = h.client.get("/api/v1/availability", params=params,
                              headers={"Authorization": f"Bearer {other}"})
        anonymous = h.client.get("/api/v1/availability", params=params)
    assert mine.status_code == 200 and mine.json()["downtime_seconds"] == 1800
    assert theirs.status_code == 404 and theirs.json() == {"error": f"customer {CUSTOMER!r} not found"}
    assert anonymous.status_code == 401
