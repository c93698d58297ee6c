"""An HTTP(S) endpoint: status code, body pattern, latency, redirects and TLS certificate days left.

```yaml
- name: shop
  type: http
  interval: 60
  timeout: 10
  url: https://shop.example.net/health
  method: GET
  headers: {Host: shop.example.net}
  expect_status: [200]       # default: any 2xx
  body_pattern: '"status": *"ok"'   # regular expression the body must match; optional
  redirects: follow          # follow (up to max_redirects), ok, warning or critical
  max_redirects: 5
  verify_tls: true           # an unverifiable certificate is CRITICAL
  ca_file: /etc/ssl/our-ca.pem   # optional: trust this CA bundle instead of the system's
  cert_warning_days: 21      # https only; 0 switches the certificate check off
  cert_critical_days: 7
  warning: 1                 # seconds for the whole exchange, body included (defaults: 2 / 10)
  critical: 10
```

A refused connection, a timeout, a TLS error, an unexpected status or a missing pattern are CRITICAL;
a URL that is not http(s) is refused at configuration time. Only the first 1 MiB of the body is read.
Metrics: ``time`` (s), ``size`` (B), and ``cert_days`` for https.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.options import OptionError
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from fernwart.checks.tls_cert import days_left, fetch_certificate
from fernwart.httpclient import HttpError, HttpResponse, HttpTimeout, HttpTlsError

BODY_LIMIT = 1024 * 1024
REDIRECT_POLICIES = ("follow", "ok", "warning", "critical")


@dataclass(frozen=True)
class HttpOptions:
    """Configure the http check: the request and what the answer must look like."""

    url: str = field(metadata={"help": "http:// or https:// URL"})
    method: str = field(default="GET", metadata={"help": "HTTP method"})
    headers: dict[str, str] = field(default_factory=dict, metadata={"help": "extra request headers"})
    expect_status: list[int] = field(default_factory=list, metadata={"help": "accepted codes; default 2xx"})
    body_pattern: str | None = field(default=None, metadata={"help": "regex the body must match"})
    redirects: str = field(default="follow", metadata={"help": "follow, ok, warning or critical"})
    max_redirects: int = field(default=5, metadata={"help": "redirects followed before CRITICAL"})
    verify_tls: bool = field(default=True, metadata={"help": "verify the server certificate"})
    ca_file: str | None = field(default=None, metadata={"help": "CA bundle to trust instead of the system's"})
    cert_warning_days: int = field(default=21, metadata={"help": "https: WARNING below these days left"})
    cert_critical_days: int = field(default=7, metadata={"help": "https: CRITICAL below these days left"})

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OptionError("url", f"expected an http:// or https:// URL with a host, got {self.url!r}")
        if self.redirects not in REDIRECT_POLICIES:
            expected = ", ".join(REDIRECT_POLICIES)
            raise OptionError("redirects", f"expected one of {expected}, got {self.redirects!r}")
        if self.body_pattern is not None:
            try:
                re.compile(self.body_pattern)
            except re.error as exc:
                raise OptionError("body_pattern", f"not a regular expression: {exc}") from None


class HttpCheck(BaseCheck[HttpOptions]):
    """Request a URL and judge status code, body, latency, redirects and the TLS certificate."""

    Options = HttpOptions
    default_warning = "2"
    default_critical = "10"
    threshold_help = "seconds for the whole exchange"

    def run(self, probe: Probe) -> CheckResult:
        o = self.options
        findings: list[Finding] = []
        metrics: list[PerfDatum] = []
        started = probe.monotonic()
        url = o.url
        try:
            for hop in range(o.max_redirects + 1):
                response = self._fetch(probe, url)
                location = response.headers.get("Location")
                if not (300 <= response.status < 400 and location):
                    break
                if o.redirects != "follow":
                    status = Status.parse(o.redirects)
                    findings.append(Finding(status, f"HTTP {response.status} redirect to {location}"))
                    break
                if hop == o.max_redirects:
                    findings.append(Finding(Status.CRITICAL, f"more than {o.max_redirects} redirects"))
                    break
                url = urljoin(url, location)
        except HttpTlsError as exc:
            return CheckResult(Status.CRITICAL, f"{url}: TLS error: {exc}")
        except HttpTimeout:
            return CheckResult(Status.CRITICAL, f"{url}: no answer within {probe.timeout:g}s")
        except HttpError as exc:
            return CheckResult(Status.CRITICAL, f"{url}: {exc}")
        elapsed = probe.monotonic() - started
        body = response.text()
        code = response.status
        if not findings:
            expected = code in o.expect_status if o.expect_status else 200 <= code < 300
            findings.append(Finding(Status.OK if expected else Status.CRITICAL, f"HTTP {code}"))
        if o.body_pattern is not None and not re.search(o.body_pattern, body):
            findings.append(Finding(Status.CRITICAL, f"body does not match {o.body_pattern!r}"))
        findings.append(Finding(self.classify(elapsed), f"{elapsed:.3f}s"))
        metrics += [self.metric("time", round(elapsed, 6), "s", min=0),
                    self.metric("size", len(response.body), "B", thresholds=False, min=0)]
        if urlsplit(o.url).scheme == "https" and (o.cert_warning_days or o.cert_critical_days):
            findings.append(self._certificate(probe, metrics))
        return conclude(findings, metrics)

    def _fetch(self, probe: Probe, url: str) -> HttpResponse:
        o = self.options
        response: HttpResponse = probe.http.request(
            o.method, url, headers=o.headers or None, timeout=probe.timeout,
            verify=(o.ca_file or True) if o.verify_tls else False, body_limit=BODY_LIMIT,
        )
        return response

    def _certificate(self, probe: Probe, metrics: list[PerfDatum]) -> Finding:
        o = self.options
        parts = urlsplit(o.url)
        host = parts.hostname or ""
        try:
            server_name = o.headers.get("Host", host).split(":")[0]
            peer = fetch_certificate(probe, host, parts.port or 443, server_name, o.ca_file)
        except (OSError, ValueError) as exc:
            return Finding(Status.UNKNOWN, f"certificate not read: {exc}")
        days = days_left(peer.info, probe)
        metrics.append(PerfDatum("cert_days", round(days, 2), "", f"{o.cert_warning_days}:",
                                 f"{o.cert_critical_days}:"))
        status = Status.OK
        if days < o.cert_critical_days:
            status = Status.CRITICAL
        elif days < o.cert_warning_days:
            status = Status.WARNING
        return Finding(status, f"certificate expires in {days:.0f} days")
