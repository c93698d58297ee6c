"""Webhook transport: POST the notification's JSON payload to a URL, signed with HMAC-SHA256.

Configuration (the target of each send is the receiver's URL)::

    type: webhook
    secret: "a shared secret of at least 16 characters"
    timeout: 10          # seconds, connect and read each; default 10
    ca_file: null        # PEM bundle to verify the receiver's TLS certificate; default: system CAs
    allow_http: false    # true permits plain http:// receivers (a lab); default: https:// only
    allow_networks: []   # CIDRs a receiver may resolve into although private, e.g. ["10.20.0.0/16"]

Server-side request forgery: a contract's contacts are written by whoever may apply contracts, and the
collector posts from inside the provider's network. So a receiver's host name is resolved before each
attempt and every address it resolves to must be public unicast: loopback, private (RFC 1918, unique
local), link-local (169.254.0.0/16 with the cloud metadata services, fe80::/10), shared, multicast,
reserved and unspecified addresses are refused unless `allow_networks` lists them; the connection then
goes to the checked address, so DNS rebinding cannot swap it. Redirects are never followed, so a
receiver cannot bounce the request elsewhere. A refusal is permanent and nothing is sent.

What is stored of an answer is its status code and a fixed reason phrase, never the receiver's text:
the delivery log is visible to technicians, and its status to customer accounts.

Every request carries::

    Content-Type: application/json; charset=utf-8
    X-Fernwart-Event: escalated                      # the payload's kind
    X-Fernwart-Delivery: <notification id>           # the same on every retry: drop duplicates by it
    X-Fernwart-Timestamp: 1767225600                 # Unix seconds when this attempt was signed
    X-Fernwart-Signature: sha256=<hex>               # HMAC-SHA256(secret, timestamp + "." + body)

How a receiver verifies (`verify_signature` does exactly this):

1. Read the raw request body as bytes; do not parse and re-serialise the JSON before verifying.
2. Compute ``HMAC-SHA256(key=secret as UTF-8, msg=timestamp header as ASCII + b"." + body)`` as hex.
3. Compare ``"sha256=" + hex`` with the signature header in constant time (`hmac.compare_digest`).
4. Refuse a timestamp further than a few minutes (default 300 s) from your clock, so a captured
   request cannot be replayed later; the timestamp is inside the signed material, so it cannot be swapped.

Answers: 2xx is delivered; 408, 429 and 5xx are retried (honouring `Retry-After`); redirects and other
4xx are permanent; refused connections and timeouts are retried; a TLS certificate that does not verify
is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from types import TracebackType
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fernwart.collector.notify.base import Message, PermanentError, Receipt, TransportError, utc_now
from fernwart.httpclient import (
    AddressPolicy,
    AddressRefused,
    HttpClient,
    HttpError,
    HttpResponse,
    HttpTlsError,
    parse_retry_after,
)

RESPONSE_LIMIT = 4096  # bytes of an answer read (and then dropped): never a download
USER_AGENT = "Fernwart-Collector (+notifications)"

SIGNATURE_HEADER = "X-Fernwart-Signature"
TIMESTAMP_HEADER = "X-Fernwart-Timestamp"
DEFAULT_TOLERANCE = 300.0


class WebhookConfig(BaseModel):
    """The validated configuration of a webhook transport; unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretStr
    timeout: float = Field(default=10.0, gt=0, le=120)
    ca_file: str | None = None
    allow_http: bool = False
    allow_networks: tuple[str, ...] = ()

    @field_validator("allow_networks")
    @classmethod
    def _networks_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        AddressPolicy.allowing(value)  # raises ValueError naming the bad network
        return value

    @field_validator("secret")
    @classmethod
    def _secret_is_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value


def encode_body(notification: Message) -> bytes:
    """Return the exact body bytes sent (and signed): compact JSON with sorted keys, UTF-8."""
    text = json.dumps(notification.payload_json(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.encode("utf-8")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Return the signature header value for `body` sent at `timestamp` (Unix seconds): "sha256=<hex>"."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: datetime,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Return True when `signature` is ours for `body` and `timestamp` is within `tolerance` s of `now`.

    Give the raw header values (None when a header is missing) and the raw body bytes. Returns False for
    a missing or malformed header, a timestamp outside the tolerance (either direction: replays and
    clocks far ahead), a wrong secret and any change to body or timestamp; never raises for bad input.
    """
    if not timestamp or not signature or not timestamp.isascii() or not timestamp.strip().isdigit():
        return False
    if abs(now.timestamp() - int(timestamp.strip())) > tolerance:
        return False
    expected = sign(secret, timestamp.strip(), body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", errors="replace"))


class WebhookTransport:
    """Sends notifications as signed JSON POSTs; owns an `HttpClient`, so close it when done.

    `http` injects the client (tests); `now` is the clock of the signed timestamp and of Retry-After.
    """

    name = "webhook"
    Config = WebhookConfig

    def __init__(
        self,
        config: WebhookConfig,
        *,
        now: Callable[[], datetime] = utc_now,
        http: HttpClient | None = None,
    ) -> None:
        self.config = config
        self.now = now
        self.http = http or HttpClient(
            headers={"User-Agent": USER_AGENT}, policy=AddressPolicy.allowing(config.allow_networks)
        )

    def send(self, notification: Message, target: str) -> Receipt:
        """POST `notification` to the URL `target`; return the receipt or raise per the module docs.

        Raises PermanentError, without any request, for a target that is not an absolute https URL (or
        http with `allow_http`) and for one whose host resolves to a refused address.
        """
        _check_url(target, allow_http=self.config.allow_http)
        body = encode_body(notification)
        now = self.now()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Fernwart-Event": notification.payload.kind.value,
            "X-Fernwart-Delivery": notification.id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.config.secret.get_secret_value(), timestamp, body),
        }
        try:
            response = self.http.request(
                "POST", target, body=body, headers=headers, timeout=self.config.timeout,
                verify=self.config.ca_file or True, body_limit=RESPONSE_LIMIT,
            )
        except (HttpTlsError, AddressRefused) as exc:
            raise PermanentError(str(exc)) from exc
        except HttpError as exc:
            raise TransportError(str(exc)) from exc
        return judge(response, now)

    def close(self) -> None:
        """Close the HTTP client's idle connections."""
        self.http.close()

    def __enter__(self) -> WebhookTransport:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def status_text(status: int) -> str:
    """Return "HTTP 503 Service Unavailable": the code and the standard phrase, never the server's words."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def judge(response: HttpResponse, now: datetime) -> Receipt:
    """Return a receipt for a 2xx answer; raise TransportError for 408/429/5xx, PermanentError otherwise.

    The receiver's body is not kept: messages carry the status code and its standard phrase only.
    """
    status = response.status
    message = status_text(status)
    if 200 <= status < 300:
        return Receipt(response_code=status, detail=message)
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        raise TransportError(message, response_code=status, retry_after=retry_after)
    if 300 <= status < 400:
        message = f"HTTP {status}: redirects are not followed; configure the final URL"
    raise PermanentError(message, response_code=status)


def _check_url(url: str, *, allow_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError("not an https URL")
    if parts.scheme == "http" and not allow_http:
        raise PermanentError("http:// refused: webhooks go to https:// URLs (allow_http: true permits http)")
    if parts.username is not None or parts.password is not None:
        raise PermanentError("a webhook URL may not carry a user name or password; use the shared secret")
