"""The outbound HTTP wrapper: Retry-After parsing and that the owned session is closed."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from fernwart.collector.notify.http import HttpClient, parse_retry_after

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("120", 120.0), (" 5 ", 5.0), ("soon", None), ("-3", None),
    ("Mon, 02 Mar 2026 09:31:00 GMT", 60.0),
    ("Mon, 02 Mar 2026 09:00:00 GMT", 0.0),   # in the past: no pause, never negative
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_client_closes_an_injected_session() -> None:
    closed: list[bool] = []

    class Session(requests.Session):
        def close(self) -> None:
            closed.append(True)
            super().close()

    with HttpClient(session=Session()) as client:
        assert client.verify is True
    assert closed == [True]


def test_ca_file_replaces_system_trust() -> None:
    with HttpClient(ca_file="/etc/fernwart/ca.pem") as client:
        assert client.verify == "/etc/fernwart/ca.pem"
