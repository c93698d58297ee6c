"""The http check against a real HTTP(S) server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from fernwart.checks.http import HttpCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe, utc_now
from fernwart.checks.status import Status
from fernwart.httpclient import HttpClient
from tests.checks.fakes import make_probe
from tests.checks.servers import http_server, https_server, make_certificate
from tests.support import free_port, require_executable


@pytest.fixture
def probe() -> Iterator[Probe]:
    client = HttpClient()
    try:
        yield make_probe(
            http=client, monotonic=time.monotonic, connect=socket.create_connection, timeout=5, now=utc_now,
        )
    finally:
        client.close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with http_server() as serving:
        yield serving


def run(probe: Probe, port: int, path: str = "/", **options: object) -> tuple[Status, str, list[str]]:
    result = HttpCheck.from_config({"url": f"http://127.0.0.1:{port}{path}", **options}).run(probe)
    return result.status, result.summary, [m.label for m in result.metrics]


def test_ok_with_body_pattern(probe: Probe, port: int) -> None:
    status, summary, labels = run(probe, port, body_pattern="hello .*wart")
    assert status is Status.OK
    assert summary.startswith("HTTP 200; ")
    assert labels == ["time", "size"]


def test_body_pattern_missing_is_critical(probe: Probe, port: int) -> None:
    status, summary, _ = run(probe, port, body_pattern="goodbye")
    assert status is Status.CRITICAL and summary == "body does not match 'goodbye'"


def test_unexpected_status_is_critical_and_expected_one_ok(probe: Probe, port: int) -> None:
    assert run(probe, port, "/missing")[:2] == (Status.CRITICAL, "HTTP 404")
    assert run(probe, port, "/missing", expect_status=[404])[0] is Status.OK


@pytest.mark.parametrize(
    ("policy", "status"), [("follow", Status.OK), ("ok", Status.OK), ("warning", Status.WARNING),
                           ("critical", Status.CRITICAL)],
)
def test_redirect_policy(probe: Probe, port: int, policy: str, status: Status) -> None:
    result_status, summary, _ = run(probe, port, "/moved", redirects=policy)
    assert result_status is status
    if policy in ("warning", "critical"):
        assert summary == "HTTP 302 redirect to /"


def test_redirect_loop_is_critical(probe: Probe, port: int) -> None:
    status, summary, _ = run(probe, port, "/loop", max_redirects=3)
    assert (status, summary) == (Status.CRITICAL, "more than 3 redirects")


def test_latency_threshold(probe: Probe, port: int) -> None:
    status, summary, _ = run(probe, port, "/slow")
    assert status is Status.OK
    result = HttpCheck.from_config({"url": f"http://127.0.0.1:{port}/slow"}, warning="0.1").run(probe)
    assert result.status is Status.WARNING
    assert result.metrics[0].warn == "0.1"


def test_refused_connection_is_critical(probe: Probe) -> None:
    status, summary, _ = run(probe, free_port())
    assert status is Status.CRITICAL and "refused" in summary.lower()


def test_https_certificate_days_and_verification(probe: Probe, tmp_path: Path) -> None:
    require_executable("openssl")
    cert, key = make_certificate(tmp_path, "localhost", days=10)
    with https_server(cert, key) as port:
        url = f"https://127.0.0.1:{port}/"
        untrusted = HttpCheck.from_config({"url": url}).run(probe)
        trusted = HttpCheck.from_config({"url": url, "ca_file": cert}).run(probe)
        later = make_probe(http=probe.http, monotonic=time.monotonic, connect=socket.create_connection,
                           now=lambda: utc_now() + timedelta(days=5))
        unverified = HttpCheck.from_config({"url": url, "verify_tls": False}).run(later)
    assert untrusted.status is Status.CRITICAL and "TLS error" in untrusted.summary
    assert (trusted.status, trusted.summary) == (Status.WARNING, "certificate expires in 10 days")
    (cert_days,) = [m for m in trusted.metrics if m.label == "cert_days"]
    assert cert_days.warn == "21:" and cert_days.crit == "7:"
    assert cert_days.value == pytest.approx(10, abs=0.01)
    assert unverified.status is Status.CRITICAL  # five days later: 5 days left, below 7
    assert unverified.metrics[-1].label == "cert_days"
    assert unverified.metrics[-1].value == pytest.approx(5, abs=0.01)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"url": "ftp://x/"}, "url"),
        ({"url": "http:///nohost"}, "url"),
        ({"url": "http://x", "redirects": "maybe"}, "redirects"),
        ({"url": "http://x", "body_pattern": "["}, "body_pattern"),
        ({"url": "http://x", "headers": ["a"]}, "headers"),
    ],
)
def test_bad_options(options: dict[str, object], key: str) -> None:
    with pytest.raises(OptionError) as caught:
        HttpCheck.from_config(options)
    assert caught.value.key == key
