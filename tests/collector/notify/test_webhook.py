"""Webhook transport: signing and answer mapping on fixtures, delivery against a real HTTP receiver."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

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
from fernwart.httpclient import HttpResponse
from tests.collector.notify.conftest import NOW, Receiver
from tests.support import free_port

SECRET = "correct horse battery staple"


@pytest.fixture
def webhook() -> Iterator[WebhookTransport]:
    with WebhookTransport(WebhookConfig(secret=SecretStr(SECRET), timeout=5), now=lambda: NOW) as transport:
        yield transport


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
    with pytest.raises(PermanentError, match="not an http"):
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
    assert attempts[0].error.startswith("HTTP 500")
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
