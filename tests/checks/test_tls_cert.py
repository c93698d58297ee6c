"""The tls_cert check and the DER reader, against certificates made by openssl on a loopback server."""

from __future__ import annotations

import socket
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fernwart.checks.probe import Probe, utc_now
from fernwart.checks.status import Status
from fernwart.checks.tls_cert import TlsCertCheck
from fernwart.checks.x509 import CertificateError, read_certificate
from tests.checks.fakes import make_probe
from tests.checks.servers import https_server, make_certificate
from tests.support import free_port, require_executable


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    require_executable("openssl")
    return make_certificate(tmp_path, "localhost", days=30)


def probe(days_later: float = 0) -> Probe:
    return make_probe(connect=socket.create_connection, now=lambda: utc_now() + timedelta(days=days_later),
                      timeout=5.0)


def test_read_certificate_matches_openssl(certificate: tuple[str, str]) -> None:
    cert, _ = certificate
    der = ssl.PEM_cert_to_DER_cert(Path(cert).read_text())
    info = read_certificate(der)
    argv = ["openssl", "x509", "-in", cert, "-noout", "-enddate"]
    said = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    end = said.strip().removeprefix("notAfter=")
    assert info.not_after == datetime.strptime(end, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC)
    assert info.not_before < info.not_after
    assert (info.subject, info.issuer) == ("localhost", "localhost")


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x02\x01", b"\x04\x02ab", b"\x30\x84\xff\xff\xff\xff"])
def test_read_certificate_rejects_garbage(der: bytes) -> None:
    with pytest.raises(CertificateError):
        read_certificate(der)


def test_trusted_chain_and_days_left(certificate: tuple[str, str]) -> None:
    cert, key = certificate
    with https_server(cert, key) as port:
        options = {"host": "127.0.0.1", "port": port, "server_name": "localhost", "ca_file": cert}
        fresh = TlsCertCheck.from_config(options).run(probe())
        soon = TlsCertCheck.from_config(options).run(probe(days_later=25))
        expired = TlsCertCheck.from_config(options).run(probe(days_later=31))
    assert fresh.status is Status.OK
    assert fresh.metrics[0].value == pytest.approx(30, abs=0.01)
    assert fresh.metrics[0].to_text().endswith(";21:;7:")
    assert fresh.long_output == "issuer: localhost"
    assert soon.status is Status.CRITICAL and "(5 days left)" in soon.summary
    assert expired.status is Status.CRITICAL and "expired" in expired.summary


def test_untrusted_and_wrong_name_are_critical_but_days_still_reported(certificate: tuple[str, str]) -> None:
    cert, key = certificate
    with https_server(cert, key) as port:
        untrusted = TlsCertCheck.from_config({"host": "127.0.0.1", "port": port}).run(probe())
        wrong_name = TlsCertCheck.from_config(
            {"host": "127.0.0.1", "port": port, "server_name": "other.example", "ca_file": cert}).run(probe())
        not_judged = TlsCertCheck.from_config({"host": "127.0.0.1", "port": port, "verify": False})
        not_judged_result = not_judged.run(probe())
    assert untrusted.status is Status.CRITICAL
    assert "chain does not verify: self-signed certificate" in untrusted.summary
    assert untrusted.metrics[0].value == pytest.approx(30, abs=0.01)
    assert wrong_name.status is Status.CRITICAL and "Hostname mismatch" in wrong_name.summary
    assert not_judged_result.status is Status.OK


def test_no_server_is_critical() -> None:
    result = TlsCertCheck.from_config({"host": "127.0.0.1", "port": free_port()}).run(probe())
    assert result.status is Status.CRITICAL and "TLS handshake failed" in result.summary
