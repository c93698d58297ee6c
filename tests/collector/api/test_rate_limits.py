"""Rate limits on credential checks: failures per client address (API, agents, enrollment, dashboard) and
dashboard sign-ins per account, each a 429 with Retry-After and a log line; against a real database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from fernwart.collector.throttle import SlidingWindow
from tests.collector.dashboard.conftest import hidden
from tests.collector.helpers import Harness, harness, result

BAD = {"Authorization": "Bearer fwu_not-a-token-of-anyone"}


def fail(h: Harness, times: int) -> None:
    for _ in range(times):
        assert h.client.get("/api/v1/hosts", headers=BAD).status_code == 401


def test_ten_bad_tokens_block_the_address_for_a_minute(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with harness(database_url) as h, caplog.at_level(logging.WARNING, "fernwart.collector.security"):
        fail(h, 10)
        blocked = h.client.get("/api/v1/hosts", headers=h.auth)  # even a good token, from that address
        assert blocked.status_code == 429
        assert blocked.json()["error"] == "too many failed credential checks from testclient; retry later"
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        [line] = [r.getMessage() for r in caplog.records if r.name == "fernwart.collector.security"]
        assert line.startswith("too many failed credential checks from testclient (10 within 60 s")
        h.clock.advance(seconds=61)
        assert h.client.get("/api/v1/hosts", headers=h.auth).status_code == 200


def test_nine_failures_and_good_requests_do_not_block(database_url: str) -> None:
    with harness(database_url) as h:
        fail(h, 9)
        for _ in range(30):
            assert h.client.get("/api/v1/hosts", headers=h.auth).status_code == 200
        for _ in range(30):  # no token at all is refused without being counted as a guess
            assert h.client.get("/api/v1/hosts").status_code == 401
        assert h.client.get("/api/v1/hosts", headers=h.auth).status_code == 200
        h.clock.advance(seconds=61)  # the nine failures age out of the window
        fail(h, 9)
        assert h.client.get("/api/v1/hosts", headers=h.auth).status_code == 200


def test_bad_agent_and_enrollment_tokens_count_too(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        for _ in range(5):
            r = h.client.post("/api/v1/reports", json={}, headers=BAD)
            assert r.status_code == 401
        for _ in range(5):
            r = h.client.post("/api/v1/enroll", json={"token": "fwe_guess", "hostname": "x", "os": "Linux"})
            assert r.status_code == 401
        host_id, token = h.hosts["web01"]
        r = h.report("web01", [result("disk", 0, h.clock.now)])
        assert r.status_code == 429, r.text  # the agent shares the address the guesses came from
        h.clock.advance(minutes=2)
        assert h.report("web01", [result("disk", 0, h.clock.now)]).status_code == 200


def sign_in(client: TestClient, token: str) -> int:
    client.cookies.clear()  # a new browser each time
    form = client.get("/login")
    r = client.post(
        "/login", data={"token": token, "login_csrf": hidden(form.text, "login_csrf")}, follow_redirects=False
    )
    return r.status_code


def test_dashboard_sign_in_failures_block_with_a_page(database_url: str) -> None:
    with harness(database_url) as h:
        for _ in range(10):
            assert sign_in(h.client, "fwu_wrong") == 401
        form = h.client.get("/login")
        r = h.client.post(
            "/login", data={"token": h.admin_token, "login_csrf": hidden(form.text, "login_csrf")},
            follow_redirects=False,
        )
        assert r.status_code == 429
        assert "Too many sign-in attempts. Please try again in" in r.text
        assert int(r.headers["Retry-After"]) <= 60


def test_one_account_signs_in_at_most_ten_times_a_minute(database_url: str) -> None:
    with harness(database_url) as h:
        assert [sign_in(h.client, h.admin_token) for _ in range(11)] == [303] * 10 + [429]
        h.clock.advance(seconds=61)
        assert sign_in(h.client, h.admin_token) == 303


def test_sliding_window_forgets_the_least_recent_keys_beyond_its_bound() -> None:
    window = SlidingWindow(limit=2, window=timedelta(minutes=1), max_keys=3)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    for key in ("a", "b", "c", "d"):
        window.record(key, now)
    window.record("d", now)
    assert window.blocked_for("d", now) == 60.0
    assert len(window._events) == 3 and "a" not in window._events
