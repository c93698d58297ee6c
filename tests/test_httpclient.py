"""The one HTTP wrapper against real HTTP/1.1 and HTTPS servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fernwart.httpclient import (
    HttpClient,
    HttpConnectError,
    HttpError,
    HttpTimeout,
    HttpTlsError,
    parse_retry_after,
)
from tests.checks.servers import https_server, make_certificate
from tests.support import free_port, require_executable


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client asks otherwise
    connections: set[tuple[str, int]] = set()

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        Handler.connections.add(self.client_address)
        if self.path == "/slow":
            time.sleep(1.0)
        body = {"/big": b"x" * 5000, "/latin": "grüß".encode("latin-1")}.get(self.path, b"hello")
        self.send_response(404 if self.path == "/missing" else 200)
        if self.path == "/latin":
            self.send_header("Content-Type", "text/plain; charset=iso-8859-1")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Seen-Agent", self.headers.get("User-Agent", ""))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        Handler.connections.add(self.client_address)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, ThreadingHTTPServer]]:
    Handler.connections = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    httpd.shutdown()
    httpd.server_close()


def test_get_returns_status_headers_and_body(server: tuple[str, ThreadingHTTPServer]) -> None:
    client = HttpClient(headers={"User-Agent": "probe/1"})
    ok = client.request("GET", server[0] + "/", timeout=5)
    missing = client.request("GET", server[0] + "/missing", timeout=5)
    latin = client.request("GET", server[0] + "/latin", timeout=5)
    assert (ok.status, ok.body, ok.text(), ok.truncated) == (200, b"hello", "hello", False)
    assert ok.headers.get("x-seen-agent") == "probe/1"  # case-insensitive headers
    assert missing.status == 404  # any HTTP answer is returned, not raised
    assert latin.text() == "grüß"


def test_body_limit_cuts_and_says_so(server: tuple[str, ThreadingHTTPServer]) -> None:
    answer = HttpClient().request("GET", server[0] + "/big", timeout=5, body_limit=1000)
    assert (len(answer.body), answer.truncated) == (1000, True)


def test_without_keep_alive_every_request_has_its_own_connection(
    server: tuple[str, ThreadingHTTPServer],
) -> None:
    client = HttpClient()
    for _ in range(3):
        assert client.request("GET", server[0] + "/", timeout=5).status == 200
    assert len(Handler.connections) == 3


def test_keep_alive_reuses_and_survives_a_closed_idle_connection(
    server: tuple[str, ThreadingHTTPServer],
) -> None:
    client = HttpClient(keep_alive=True)
    for _ in range(3):
        assert client.request("POST", server[0] + "/", body=b"{}", timeout=5).body == b"{}"
    assert len(Handler.connections) == 1
    idle = next(iter(client._idle.values()))
    assert idle.sock is not None
    idle.sock.shutdown(socket.SHUT_RDWR)  # as if the server had dropped it: retried on a fresh one
    assert client.request("POST", server[0] + "/", body=b"[1]", timeout=5).body == b"[1]"
    client.close()
    assert client._idle == {}


def test_refused_connection() -> None:
    with pytest.raises(HttpConnectError, match=r"cannot connect \(\[Errno 111\] Connection refused\)"):
        HttpClient().request("GET", f"http://127.0.0.1:{free_port()}/", timeout=2)


def test_read_timeout(server: tuple[str, ThreadingHTTPServer]) -> None:
    with pytest.raises(HttpTimeout, match="timed out"):
        HttpClient().request("GET", server[0] + "/slow", timeout=(2, 0.2))


def test_not_an_http_url() -> None:
    with pytest.raises(HttpError, match="not an http"):
        HttpClient().request("GET", "ftp://example.net/", timeout=1)


def test_tls_verification(tmp_path: Path) -> None:
    require_executable("openssl")
    cert, key = make_certificate(tmp_path, "localhost", days=10)
    client = HttpClient()
    with https_server(cert, key) as port:
        with pytest.raises(HttpTlsError, match="certificate verify failed"):
            client.request("GET", f"https://localhost:{port}/", timeout=5)
        assert client.request("GET", f"https://localhost:{port}/", timeout=5, verify=cert).status == 200
        assert client.request("GET", f"https://127.0.0.1:{port}/", timeout=5, verify=False).status == 200


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("120", 120.0), (" 5 ", 5.0), ("soon", None), ("-3", None),
    ("Mon, 02 Mar 2026 09:31:00 GMT", 60.0),
    ("Mon, 02 Mar 2026 09:00:00 GMT", 0.0),   # in the past: no pause, never negative
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, datetime(2026, 3, 2, 9, 30, tzinfo=UTC)) == expected


def test_an_address_policy_and_a_proxy_exclude_each_other() -> None:
    from fernwart.httpclient import AddressPolicy, Proxy

    class Always:
        def proxy_for(self, scheme: str, host: str) -> Proxy | None:
            return Proxy("proxy.lan", 3128)

    with pytest.raises(ValueError, match="an address policy cannot check requests that go through a proxy"):
        HttpClient(policy=AddressPolicy(), proxies=Always())
