"""Webhook transport: signing and answer mapping on fixtures, delivery against a real HTTP receiver."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fernwart.collector.notify.base import (
    AttemptOutcome,
    Message,
    NotificationPayload,
    PermanentError,
    TransportError,
)
from fernwart.collector.notify.dispatch import Backoff, deliver
from fernwart.collector.notify.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfig,
    WebhookTransport,
    encode_body,
    judge,
    sign,
    verify_signature,
)
from fernwart.httpclient import AddressPolicy, HttpResponse
from tests.collector.notify.conftest import NOW, Receiver
from tests.support import free_port

SECRET = "correct horse battery staple"
LAB = {"allow_http": True, "allow_networks": ("127.0.0.0/8",)}  # the receivers here listen on loopback


def transport(**options: Any) -> WebhookTransport:
    return WebhookTransport(WebhookConfig.model_validate({"secret": SECRET, "timeout": 5, **options}),
                            now=lambda: NOW)


@pytest.fixture
def webhook() -> Iterator[WebhookTransport]:
    with transport(**LAB) as lab:
        yield lab


# --- signing ---------------------------------------------------------------------------------------


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1767225600.{\"a\":1}", hashlib.sha256).hexdigest()
    assert sign(SECRET, 1767225600, b'{"a":1}') == f"sha256={expected}"


def test_verify_accepts_own_signature_within_tolerance() -> None:
    body, ts = b'{"kind":"escalated"}', str(int(NOW.timestamp()))
    later = NOW + dt.timedelta(seconds=299)
    assert verify_signature(SECRET, body, ts, sign(SECRET, ts, body), now=later)


@pytest.mark.parametrize(("secret", "body", "timestamp", "signature", "shift"), [
    ("wrong secret, long enough", b"{}", "T", "SIG", 0),      # wrong secret
    (SECRET, b"{} ", "T", "SIG", 0),                          # body changed by one byte
    (SECRET, b"{}", "T+1", "SIG", 0),                         # timestamp swapped
    (SECRET, b"{}", "T", "SIG", 301),                         # replayed too late
    (SECRET, b"{}", "T", "SIG", -301),                        # from too far in the future
    (SECRET, b"{}", None, "SIG", 0),                          # timestamp header missing
    (SECRET, b"{}", "T", None, 0),                            # signature header missing
    (SECRET, b"{}", "soon", "SIG", 0),                        # malformed timestamp
    (SECRET, b"{}", "T", "sha1=abc", 0),                      # other scheme
])
def test_verify_refuses(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, shift: int
) -> None:
    ts = int(NOW.timestamp())
    good = sign(SECRET, ts, b"{}")
    given_ts = {"T": str(ts), "T+1": str(ts + 1)}.get(timestamp, timestamp) if timestamp else None
    given_sig = good if signature == "SIG" else signature
    now = NOW + dt.timedelta(seconds=shift)
    assert verify_signature(secret, body, given_ts, given_sig, now=now) is False


@pytest.mark.parametrize(("status", "kind"), [
    (400, PermanentError), (401, PermanentError), (404, PermanentError), (410, PermanentError),
    (301, PermanentError), (408, TransportError), (429, TransportError), (500, TransportError),
    (503, TransportError),
])
def test_judge_maps_failures(status: int, kind: type[Exception]) -> None:
    with pytest.raises(kind) as caught:
        judge(answer(status, b"nope"), NOW)
    assert type(caught.value) is kind


def test_judge_accepts_any_2xx() -> None:
    assert judge(answer(204, b""), NOW).response_code == 204


def test_judge_passes_on_the_receivers_retry_after() -> None:
    with pytest.raises(TransportError) as caught:
        judge(answer(503, b"busy", {"Retry-After": "120"}), NOW)
    assert caught.value.retry_after == 120.0


def answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> HttpResponse:
    message = http.client.HTTPMessage()
    for name, value in (headers or {}).items():
        message[name] = value
    return HttpResponse(status, "", message, body)


@pytest.mark.parametrize("url", ["ftp://hooks.example/x", "hooks.example/x", "https://", "mailto:a@x.ex"])
def test_non_http_target_is_permanent(
    webhook: WebhookTransport, notification: Message, url: str
) -> None:
    with pytest.raises(PermanentError, match="not an https URL"):
        webhook.send(notification, url)


def test_secret_is_not_in_repr() -> None:
    assert SECRET not in repr(WebhookConfig.model_validate({"secret": SECRET}))


# --- against a real HTTP receiver ------------------------------------------------------------------


def test_receiver_verifies_signature_and_reads_payload(
    webhook: WebhookTransport, receiver: Receiver, notification: Message
) -> None:
    receipt = webhook.send(notification, receiver.url)
    assert receipt.response_code == 200
    [request] = receiver.requests
    assert request.path == "/hooks/fernwart"
    assert request.body == encode_body(notification)
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-Fernwart-Event"] == "escalated"
    assert request.headers["X-Fernwart-Delivery"] == "ntf-42-escalated-2"
    assert request.headers[TIMESTAMP_HEADER] == str(int(NOW.timestamp()))
    ts, sig = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    assert verify_signature(SECRET, request.body, ts, sig, now=NOW)
    assert not verify_signature("another secret entirely", request.body, ts, sig, now=NOW)
    assert NotificationPayload.model_validate_json(request.body) == notification.payload


def test_500_then_200_records_two_attempts(
    webhook: WebhookTransport, receiver: Receiver, notification: Message
) -> None:
    receiver.answer(500, 200)
    pauses: list[float] = []
    attempts = deliver(notification, receiver.url, webhook, max_attempts=5, backoff=Backoff(base=3),
                       sleep=pauses.append, now=lambda: NOW)
    assert [(a.attempt, a.outcome, a.response_code) for a in attempts] == [
        (1, AttemptOutcome.RETRYABLE, 500), (2, AttemptOutcome.DELIVERED, 200)]
    assert attempts[0].error == "HTTP 500 Internal Server Error"  # the receiver's own text is not kept
    assert attempts[1].ok and attempts[1].error == ""
    assert pauses == [3]
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_400_is_one_permanent_attempt(
    webhook: WebhookTransport, receiver: Receiver, notification: Message
) -> None:
    receiver.answer(400)
    pauses: list[float] = []
    attempts = deliver(
        notification, receiver.url, webhook, max_attempts=5, sleep=pauses.append, now=lambda: NOW
    )
    assert [(a.outcome, a.response_code) for a in attempts] == [(AttemptOutcome.PERMANENT, 400)]
    assert attempts[0].permanent
    assert pauses == []
    assert len(receiver.requests) == 1


def test_429_retry_after_lengthens_the_pause(
    webhook: WebhookTransport, receiver: Receiver, notification: Message
) -> None:
    receiver.answer((429, {"Retry-After": "7"}), 200)
    pauses: list[float] = []
    attempts = deliver(notification, receiver.url, webhook, max_attempts=3, backoff=Backoff(base=1),
                       sleep=pauses.append, now=lambda: NOW)
    assert [a.response_code for a in attempts] == [429, 200]
    assert pauses == [7]


def test_redirect_is_not_followed(
    webhook: WebhookTransport, receiver: Receiver, notification: Message
) -> None:
    receiver.answer((307, {"Location": receiver.url + "/elsewhere"}))
    with pytest.raises(PermanentError, match="redirects are not followed"):
        webhook.send(notification, receiver.url)
    assert len(receiver.requests) == 1


def test_connection_refused_is_retried_up_to_max_attempts(
    webhook: WebhookTransport, notification: Message
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    pauses: list[float] = []
    attempts = deliver(notification, url, webhook, max_attempts=4, backoff=Backoff(base=2, factor=3, cap=10),
                       sleep=pauses.append, now=lambda: NOW)
    assert [(a.attempt, a.outcome, a.response_code) for a in attempts] == [
        (n, AttemptOutcome.RETRYABLE, None) for n in (1, 2, 3, 4)]
    assert "cannot connect" in attempts[0].error and "refused" in attempts[0].error.lower()
    assert pauses == [2, 6, 10]


# --- server-side request forgery ----------------------------------------------------------------------


def test_https_receiver_on_an_allow_listed_network_gets_the_post(
    tls_receiver: Receiver, certificate: tuple[Path, Path], notification: Message
) -> None:
    with transport(ca_file=str(certificate[0]), allow_networks=["127.0.0.1/32"]) as webhook:
        assert webhook.send(notification, tls_receiver.url).response_code == 200
    assert len(tls_receiver.requests) == 1


@pytest.mark.parametrize("allow", [{}, {"allow_networks": ["10.0.0.0/8"]}])
def test_loopback_receiver_is_refused_before_anything_is_sent(
    tls_receiver: Receiver, certificate: tuple[Path, Path], notification: Message, allow: dict[str, Any]
) -> None:
    with transport(ca_file=str(certificate[0]), **allow) as webhook, pytest.raises(
        PermanentError, match=r"refused to connect to 127\.0\.0\.1 \(127\.0\.0\.1\): the address is loopback"
    ):
        webhook.send(notification, tls_receiver.url)
    assert tls_receiver.requests == []


def test_a_name_is_checked_after_resolution(notification: Message) -> None:
    port = free_port()
    with transport() as webhook, pytest.raises(PermanentError, match=r"localhost \((127\.0\.0\.1|::1)\)"):
        webhook.send(notification, f"https://localhost:{port}/hook")


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/",     # cloud metadata (link-local)
    "https://[fd00:ec2::254]/latest/meta-data/",     # AWS metadata over IPv6 (unique local)
    "https://10.1.2.3/hook", "https://192.168.0.10/hook", "https://172.16.5.4/hook",
    "https://100.100.100.200/hook",                  # shared address space (Alibaba metadata)
    "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://0.0.0.0/hook",
    "https://224.0.0.1/hook", "https://[fe80::1]/hook", "https://2130706433/hook",  # 2130706433 = 127.0.0.1
])
def test_internal_addresses_are_refused(notification: Message, url: str) -> None:
    with transport() as webhook, pytest.raises(PermanentError, match="refused to connect"):
        webhook.send(notification, url)


def test_http_needs_allow_http(receiver: Receiver, notification: Message) -> None:
    with transport(allow_networks=["127.0.0.0/8"]) as webhook, pytest.raises(
        PermanentError, match="http:// refused"
    ):
        webhook.send(notification, receiver.url)
    assert receiver.requests == []


def test_credentials_in_the_url_are_refused(notification: Message) -> None:
    with transport() as webhook, pytest.raises(PermanentError, match="user name or password"):
        webhook.send(notification, "https://user:pw@hooks.example/x")


def test_a_bad_allow_listed_network_is_refused_in_the_config() -> None:
    with pytest.raises(ValueError, match="allow_networks"):
        WebhookConfig.model_validate({"secret": SECRET, "allow_networks": ["10.0.0.0/33"]})


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.215.14", True), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True), ("8.8.8.8", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("169.254.169.254", False), ("::ffff:10.0.0.1", False),
    ("fc00::1", False), ("100.64.0.1", False), ("255.255.255.255", False), ("192.0.2.1", False),
])
def test_address_policy_permits_public_unicast_only(address: str, public: bool) -> None:
    assert (AddressPolicy().refusal(ipaddress.ip_address(address)) is None) is public
