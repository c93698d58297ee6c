"""Fixtures for the notify tests: a sample notification, a TLS certificate, a real SMTP server process
on loopback and a real HTTP receiver thread on loopback."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from fernwart.collector.notify.base import Message, NotificationKind, NotificationPayload
from tests.support import free_port, require

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SMTP_SCRIPT = Path(__file__).with_name("smtp_server.py")


def make_notification(**changes: Any) -> Message:
    """Return an escalation notification for ticket 42; keyword arguments replace payload fields."""
    fields: dict[str, Any] = dict(
        notification_id="ntf-42-escalated-2", kind=NotificationKind.ESCALATED, occurred_at=NOW, ticket_id=42,
        customer="Muster GmbH", host="erp01", check="erp-db", level=2, priority="P1",
        response_due=NOW + dt.timedelta(minutes=30), resolution_due=NOW + dt.timedelta(hours=4),
        dashboard_url="https://fernwart.provider.example/tickets/42",
    )
    fields.update(changes)
    return Message(
        subject="[P1] erp01 erp-db escalated to 2nd level",
        body="Ticket 42 (Muster GmbH, erp01/erp-db) is now at level 2.\nFällig: 13:30 UTC\n",
        payload=NotificationPayload(**fields),
    )


@pytest.fixture
def notification() -> Message:
    return make_notification()


# --- TLS certificate -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return (cert, key) PEM paths of a self-signed certificate for 127.0.0.1 and localhost."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _certificate_with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        require(openssl is not None, "a test certificate needs the cryptography package or openssl")
        assert openssl is not None
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True, timeout=30,
        )
    return cert, key


def _certificate_with_cryptography(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))


# --- SMTP server process ---------------------------------------------------------------------------


@dataclass
class SmtpServer:
    """A running smtp_server.py process: where it listens and where its received mail lands."""

    port: int
    maildir: Path
    cert: Path

    def messages(self) -> list[tuple[EmailMessage, dict[str, Any]]]:
        """Return each received message (parsed) with its envelope, oldest first."""
        found = []
        for eml in sorted(self.maildir.glob("*.eml")):
            parsed = message_from_bytes(eml.read_bytes(), policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append((parsed, json.loads(eml.with_suffix(".json").read_text())))
        return found


@pytest.fixture
def smtp_server(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> Iterator[Callable[..., SmtpServer]]:
    """Return a starter for real SMTP server processes; all are stopped (and reaped) at teardown."""
    require(_has_aiosmtpd(), "aiosmtpd not installed (pip install aiosmtpd)")
    started: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(security: str = "none", user: str | None = None, password: str | None = None,
              mechanisms: str = "LOGIN,PLAIN") -> SmtpServer:
        maildir = tmp_path / f"mail{len(started)}"
        maildir.mkdir()
        port = free_port()
        argv = [sys.executable, str(SMTP_SCRIPT), "--port", str(port), "--maildir", str(maildir),
                "--security", security, "--cert", str(certificate[0]), "--key", str(certificate[1]),
                "--mechanisms", mechanisms]
        if user is not None:
            argv += ["--user", user, "--password", password or ""]
        log = (tmp_path / f"smtp{len(started)}.log").open("wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        started.append((proc, log))
        deadline = time.monotonic() + 20
        while not (maildir / "ready").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = Path(log.name).read_text(errors="replace")
                pytest.fail(f"SMTP server did not start (exit {proc.poll()}):\n{output}")
            time.sleep(0.05)
        return SmtpServer(port=port, maildir=maildir, cert=certificate[0])

    yield start
    for proc, log in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _has_aiosmtpd() -> bool:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        return False
    return True


# --- HTTP receiver ---------------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 answering POSTs with scripted statuses (200 once the script ends)."""

    url: str
    statuses: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[ReceivedRequest] = field(default_factory=list)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """Queue the statuses (optionally with headers) of the next answers."""
        for status in statuses:
            self.statuses.append(status if isinstance(status, tuple) else (status, {}))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Return a running HTTP receiver; it is shut down and its socket closed at teardown."""
    yield from _serve_receiver(None)


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    """Return a running HTTPS receiver on 127.0.0.1 with the self-signed `certificate`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    yield from _serve_receiver(context)


def _serve_receiver(context: ssl.SSLContext | None) -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(ReceivedRequest(self.path, dict(self.headers.items()), body))
            status, headers = state.statuses.pop(0) if state.statuses else (200, {})
            answer = json.dumps({"status": status}).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = HTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if context is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/hooks/fernwart"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
