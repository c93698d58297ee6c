"""Days left on the TLS certificate of any host:port (with SNI), and whether its chain verifies.

```yaml
- name: mail-cert
  type: tls_cert
  interval: 3600
  host: mail.example.net
  port: 465              # default 443
  server_name: mail.example.net   # SNI and the name verified; default: host
  ca_file: /etc/ssl/private-ca.pem   # optional: trust this CA bundle instead of the system's
  verify: true           # false: report days left only, do not judge the chain
  warning: "21:"         # days left; the defaults warn below 21 days and are CRITICAL below 7
  critical: "7:"
```

A chain that does not verify (unknown CA, self-signed, expired, wrong name) is CRITICAL with OpenSSL's
reason, and days left are still reported. No connection or a failed handshake is CRITICAL.
Metric: ``days_left``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from fernwart.checks.base import BaseCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status
from fernwart.checks.x509 import CertificateError, CertificateInfo, read_certificate


@dataclass(frozen=True)
class PeerCertificate:
    """The server's leaf certificate and the reason its chain failed to verify ('' when it verified)."""

    info: CertificateInfo
    verify_error: str


def fetch_certificate(
    probe: Probe, host: str, port: int, server_name: str | None = None, ca_file: str | None = None,
) -> PeerCertificate:
    """Handshake with host:port (SNI `server_name`, default host) and return the leaf certificate.

    A chain that fails to verify is retried without verification so the certificate is still read.
    Raise OSError (including ssl.SSLError) when no handshake is possible, CertificateError for a
    certificate this reader cannot decode.
    """
    name = server_name or host
    verifying = ssl.create_default_context(cafile=ca_file)
    try:
        return PeerCertificate(read_certificate(_leaf(probe, host, port, name, verifying)), "")
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
    trusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    trusting.check_hostname = False
    trusting.verify_mode = ssl.CERT_NONE
    return PeerCertificate(read_certificate(_leaf(probe, host, port, name, trusting)), reason)


def _leaf(probe: Probe, host: str, port: int, server_name: str, context: ssl.SSLContext) -> bytes:
    with probe.connect((host, port), timeout=probe.timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


def days_left(info: CertificateInfo, probe: Probe) -> float:
    """Return the days from the probe's now until the certificate expires (negative once expired)."""
    return (info.not_after - probe.now()).total_seconds() / 86400


@dataclass(frozen=True)
class TlsCertOptions:
    """Configure the tls_cert check: the endpoint, SNI name and trust."""

    host: str = field(metadata={"help": "host name or address to connect to"})
    port: int = field(default=443, metadata={"help": "TCP port"})
    server_name: str | None = field(default=None, metadata={"help": "SNI and verified name; default: host"})
    ca_file: str | None = field(default=None, metadata={"help": "CA bundle to trust instead of the system's"})
    verify: bool = field(default=True, metadata={"help": "judge the chain (false: days left only)"})

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise OptionError("port", f"expected a port number 1-65535, got {self.port}")


class TlsCertCheck(BaseCheck[TlsCertOptions]):
    """Report the days left on a server's TLS certificate and whether its chain verifies."""

    Options = TlsCertOptions
    default_warning = "21:"
    default_critical = "7:"
    threshold_help = "days until the certificate expires (ranges like 21: alert below)"

    def run(self, probe: Probe) -> CheckResult:
        o = self.options
        target = f"{o.host}:{o.port}"
        try:
            peer = fetch_certificate(probe, o.host, o.port, o.server_name, o.ca_file)
        except CertificateError as exc:
            return unknown(f"{target}: cannot read the certificate: {exc}")
        except OSError as exc:
            return CheckResult(Status.CRITICAL, f"{target}: TLS handshake failed: {exc.strerror or exc}")
        days = days_left(peer.info, probe)
        status = self.classify(days)
        expiry = peer.info.not_after.strftime("%Y-%m-%d")
        who = f" for {peer.info.subject}" if peer.info.subject else ""
        summary = f"certificate{who} expires {expiry} ({days:.0f} days left)"
        if days < 0:
            summary = f"certificate{who} expired {expiry} ({-days:.0f} days ago)"
        if o.verify and peer.verify_error:
            status = Status.CRITICAL
            summary = f"chain does not verify: {peer.verify_error}; {summary}"
        issuer = f"issuer: {peer.info.issuer}" if peer.info.issuer else ""
        return CheckResult(status, f"{target} {summary}", (self.metric("days_left", round(days, 2)),), issuer)
