"""Hostile or clumsy input never blocks a host, crashes a route or is answered before authentication.

The cases of the outside audit (issue 11), each on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.collector.helpers import Harness, harness, result

NUL = "\x00"


def post_raw(h: Harness, name: str, text: str) -> Any:
    token = h.hosts[name][1]
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    return h.client.post("/api/v1/reports", content=text.encode(), headers=headers)


def test_nul_bytes_are_replaced_and_reporting_goes_on(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        poisoned = result("disk", 2, h.clock.advance(seconds=1), summary=f"disk{NUL}full", max_attempts=1)
        poisoned["long_output"] = f"line 1{NUL}\nline 2"
        poisoned["metrics"] = [{"label": f"/{NUL}var", "value": 1.0, "uom": f"B{NUL}"}]
        r = h.report("web01", [poisoned])
        assert r.status_code == 200, r.text
        assert h.report("web01", [result("load", 0, h.clock.advance(seconds=1))]).status_code == 200
        [stored] = h.get(f"/api/v1/hosts/{host_id}/results", check="disk")
        assert stored["summary"] == "disk\ufffdfull" and stored["long_output"] == "line 1\ufffd\nline 2"
        assert stored["metrics"][0]["label"] == "/\ufffdvar" and stored["metrics"][0]["uom"] == "B\ufffd"
        [ticket] = h.get("/api/v1/tickets")
        assert NUL not in ticket["title"] and "\ufffd" in ticket["title"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", '"NaN"', '"inf"'])
def test_non_finite_metrics_are_stored_as_unknown(database_url: str, number: str) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        item = result("disk", 0, h.clock.advance(seconds=1))
        item["metrics"] = [{"label": "used", "value": 0.0, "min": 0.0, "max": 0.0}]
        text = json.dumps({"host_id": host_id, "results": [item]})
        text = text.replace('"value": 0.0', f'"value": {number}').replace('"max": 0.0', f'"max": {number}')
        r = post_raw(h, "web01", text)
        assert r.status_code == 200, r.text
        [stored] = h.get(f"/api/v1/hosts/{host_id}/results")
        metric = stored["metrics"][0]
        assert (metric["value"], metric["min"], metric["max"]) == (None, 0.0, None)


@pytest.mark.parametrize(
    "observed_at",
    [
        "0001-01-01T00:00:00+14:00",  # year 1 with an offset east of UTC cannot even be converted
        "0001-01-01T00:00:00Z",
        "1938-04-24T22:13:20Z",  # long before any outbox could have kept it
        "9999-12-31T23:59:59Z",
        -1e12,  # numbers were taken as Unix times
        1764000000,
        "yesterday",
    ],
)
def test_observation_times_outside_the_window_are_refused(database_url: str, observed_at: object) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        item = {**result("disk", 0, h.clock.now), "observed_at": observed_at}
        r = h.report("web01", [item])
        assert r.status_code == 422 and r.json()["error"].startswith("results.0.observed_at"), r.text
        assert h.report("web01", [result("disk", 0, h.clock.now)]).status_code == 200
        assert h.client.get(f"/api/v1/hosts/{host_id}/results", headers=h.auth).status_code == 200
        assert h.client.get(f"/hosts/{host_id}").status_code in (200, 303)


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/hosts/{host}/results", {"since": "0001-01-01T00:00:00Z"}),
        ("/api/v1/hosts/{host}/results", {"since": "1700000000"}),
        ("/api/v1/windows", {"customer": "Acme", "active_at": "0001-01-01T00:00:00+14:00"}),
        ("/api/v1/availability", {"customer": "Acme", "from": "0001-01-01T00:00", "to": "0001-02-01T00:00"}),
    ],
)
def test_query_instants_out_of_bounds_are_422_naming_the_field(
    database_url: str, path: str, param: dict[str, str]
) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01", customer="Acme")
        r = h.client.get(path.format(host=host_id), params=param, headers=h.auth)
        field = "from" if "from" in param else next(k for k in param if k != "customer")
        assert r.status_code == 422 and field in r.json()["error"], r.text


def test_ids_out_of_range_are_422_on_every_ticket_route(database_url: str) -> None:
    with harness(database_url) as h:
        huge = str(2**63)
        routes = [
            ("GET", f"/api/v1/tickets/{huge}"),
            ("GET", f"/api/v1/tickets/{huge}/notifications"),
            ("POST", f"/api/v1/tickets/{huge}/acknowledge"),
            ("POST", "/api/v1/tickets/-1/close"),
        ]
        for method, path in routes:
            r = h.client.request(method, path, headers=h.auth, json={})
            assert r.status_code == 422 and "ticket_id" in r.json()["error"], (path, r.text)
        r = h.client.get("/api/v1/tickets", params={"limit": huge}, headers=h.auth)
        assert r.status_code == 422


@pytest.mark.parametrize("token", [None, "fwu_nobody", "fwa_nobody"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/reports", "{}"),
        ("POST", "/api/v1/reports", "{not json"),
        ("POST", "/api/v1/tickets/1/acknowledge", "{not json"),
        ("POST", "/api/v1/tickets/abc/comment", '{"message": 5}'),
        ("PUT", "/api/v1/contracts", "{not json"),
        ("PUT", "/api/v1/contracts", "[]"),
        ("POST", "/api/v1/windows", "{}"),
        ("GET", "/api/v1/tickets/abc", ""),
        ("GET", "/api/v1/hosts/x/results?since=soon", ""),
    ],
)
def test_nothing_but_401_without_valid_credentials(
    database_url: str, token: str | None, method: str, path: str, body: str
) -> None:
    with harness(database_url) as h:
        headers = {"content-type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = h.client.request(method, path, content=body.encode(), headers=headers)
        assert r.status_code == 401, (method, path, r.text)
        assert set(r.json()) == {"error"} and "field" not in r.text


def test_the_dashboard_sends_an_anonymous_visitor_to_sign_in_first(database_url: str) -> None:
    with harness(database_url) as h:
        for path in ("/tickets/abc", f"/tickets/{2**63}", "/hosts/nope", "/tickets?state=bogus"):
            r = h.client.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (path, r.status_code)
        r = h.client.post("/tickets/abc/acknowledge", data={"csrf": "x"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_report_for_an_unknown_host_id_format_is_still_401_without_a_token(database_url: str) -> None:
    with harness(database_url) as h:
        r = h.client.post("/api/v1/reports", json={"host_id": str(uuid.uuid4()), "results": "nope"})
        assert r.status_code == 401
