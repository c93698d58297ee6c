"""Tiny loopback servers the check tests talk to: HTTP(S), a plain TCP listener, SNTP; test certificates."""

from __future__ import annotations

import http.server
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        routes = {
            "/": (200, b"hello fernwart", {}),
            "/missing": (404, b"no such page", {}),
            "/moved": (302, b"", {"Location": "/"}),
            "/loop": (302, b"", {"Location": "/loop"}),
            "/slow": (200, b"slow", {}),
        }
        status, body, headers = routes.get(self.path, (500, b"broken", {}))
        if self.path == "/slow":
            time.sleep(0.3)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def http_server() -> Iterator[int]:
    """Serve a few fixed routes on 127.0.0.1 and yield the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def tcp_listener() -> Iterator[int]:
    """Listen on 127.0.0.1 (connections wait in the backlog) and yield the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def ntp_timestamp(unix: float) -> bytes:
    """Return `unix` seconds as a 64-bit NTP timestamp."""
    seconds = unix + NTP_EPOCH_OFFSET
    return struct.pack("!II", int(seconds), int((seconds % 1) * 2**32))


def sntp_reply(request: bytes, offset: float = 0.0, stratum: int = 2, leap: int = 0) -> bytes:
    """Answer an (S)NTP client request as a server whose clock runs `offset` seconds ahead."""
    version = (request[0] >> 3) & 0x7 if request else 4
    now = time.time() + offset
    header = struct.pack(
        "!BBbbII4s", (leap << 6) | (version << 3) | 4, stratum, 4, -20, 0x10, 0x20, b"LOCL",
    )
    return header + ntp_timestamp(now - 10) + request[40:48] + ntp_timestamp(now) + ntp_timestamp(now)


@contextmanager
def sntp_server(offset: float = 0.0) -> Iterator[int]:
    """Answer NTP client packets on 127.0.0.1 with a clock `offset` seconds ahead; yield the UDP port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                request, peer = sock.recvfrom(1024)
            except TimeoutError:
                continue
            if len(request) >= 48:
                sock.sendto(sntp_reply(request, offset), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        sock.close()


@contextmanager
def https_server(certfile: str, keyfile: str) -> Iterator[int]:
    """Serve the same routes as `http_server` over TLS with the given certificate; yield the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def make_certificate(directory: Path, name: str, days: int = 30) -> tuple[str, str]:
    """Create a self-signed certificate for `name` (SAN: name, 127.0.0.1) with openssl; return paths."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", str(days), "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)
