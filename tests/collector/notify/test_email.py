"""Email transport: the MIME message and error mapping on fixtures, delivery against a real SMTP process."""

from __future__ import annotations

import smtplib
import ssl
from typing import Any

import pytest

from fernwart.collector.notify.base import AttemptOutcome, Message, PermanentError, TransportError
from fernwart.collector.notify.dispatch import Backoff, deliver
from fernwart.collector.notify.email import EmailConfig, EmailTransport, build_message, classify
from tests.collector.notify.conftest import NOW, SmtpServer, make_notification
from tests.support import free_port

FROM = "fernwart@provider.example"


def config(server: SmtpServer | None = None, **changes: Any) -> EmailConfig:
    values: dict[str, Any] = dict(
        host="127.0.0.1", port=server.port if server else free_port(), security="none",
        from_address=FROM, timeout=10, helo_name="fernwart-test",
        ca_file=str(server.cert) if server else None,
    )
    values.update(changes)
    return EmailConfig(**values)


def transport(server: SmtpServer | None = None, **changes: Any) -> EmailTransport:
    return EmailTransport(config(server, **changes), now=lambda: NOW)


# --- the message -----------------------------------------------------------------------------------


def test_message_has_headers_and_utf8_plain_body(notification: Message) -> None:
    message = build_message(notification, "ops@muster.example", FROM, NOW)
    assert message["Subject"] == "[P1] erp01 erp-db escalated to 2nd level"
    assert message["From"] == FROM
    assert message["To"] == "ops@muster.example"
    assert message["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    assert message["Message-ID"] == "<ntf-42-escalated-2@provider.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Fernwart-Event"] == "escalated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == notification.body  # CRLF on the wire
    assert message.as_bytes().isascii()  # quoted-printable: no 8BITMIME needed


def test_message_subject_line_breaks_cannot_inject_headers() -> None:
    payload = make_notification().payload
    evil = Message(subject="down\r\nBcc: everyone@example.com", body="x", payload=payload)
    message = build_message(evil, "ops@muster.example", FROM, NOW)
    assert message["Subject"] == "down Bcc: everyone@example.com"
    assert message["Bcc"] is None


@pytest.mark.parametrize("target", ["", "ops", "a@b@c", "Ops <ops@x.example>", "a@x.example, b@x.example",
                                    "ops@x.example\r\nBcc: x@y", "müller@x.example"])
def test_bad_target_is_permanent_without_connecting(notification: Message, target: str) -> None:
    def no_connection(cfg: EmailConfig, context: ssl.SSLContext) -> smtplib.SMTP:
        raise AssertionError("must not connect")

    sender = EmailTransport(config(), now=lambda: NOW, smtp_factory=no_connection)
    with pytest.raises(PermanentError, match="not a bare email address"):
        sender.send(notification, target)


# --- error mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("exc", "kind", "code"), [
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), PermanentError, 535),
    (smtplib.SMTPAuthenticationError(454, b"4.7.0 temporary failure"), TransportError, 454),
    (smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"no such user")}), PermanentError, 550),
    (smtplib.SMTPRecipientsRefused({"a@x.example": (452, b"mailbox full")}), TransportError, 452),
    (smtplib.SMTPSenderRefused(553, b"sender rejected", FROM), PermanentError, 553),
    (smtplib.SMTPDataError(421, b"shutting down"), TransportError, 421),
    (smtplib.SMTPConnectError(554, b"no service"), PermanentError, 554),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), PermanentError, None),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), TransportError, None),
    (ConnectionRefusedError(111, "Connection refused"), TransportError, None),
    (TimeoutError("timed out"), TransportError, None),
])
def test_classify_maps_smtp_errors(exc: Exception, kind: type[Exception], code: int | None) -> None:
    assert isinstance(exc, smtplib.SMTPException | OSError)
    error = classify(exc, "relay.example")
    assert type(error) is kind
    assert error.response_code == code


# --- against a real SMTP server process ------------------------------------------------------------


@pytest.mark.smtp
def test_plain_smtp_delivers_message_with_headers_and_body(
    smtp_server: Any, notification: Message
) -> None:
    server = smtp_server()
    receipt = transport(server).send(notification, "ops@muster.example")
    assert receipt.response_code == 250
    assert "queued as 0001" in receipt.detail
    [(message, envelope)] = server.messages()
    assert envelope["mail_from"] == FROM
    assert envelope["rcpt_tos"] == ["ops@muster.example"]
    assert message["Subject"] == notification.subject
    assert message["To"] == "ops@muster.example"
    assert message["Message-ID"] == "<ntf-42-escalated-2@provider.example>"
    assert message["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == notification.body  # CRLF on the wire


@pytest.mark.smtp
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_auth_delivers(smtp_server: Any, notification: Message, mechanism: str) -> None:
    server = smtp_server("starttls", user="fernwart", password="s3cret", mechanisms=mechanism)
    sender = transport(server, security="starttls", username="fernwart", password="s3cret")
    assert sender.send(notification, "ops@muster.example").response_code == 250
    [(message, envelope)] = server.messages()
    assert envelope == {"mail_from": FROM, "rcpt_tos": ["ops@muster.example"], "tls": True,
                        "auth_user": "fernwart", "auth_mechanism": mechanism}
    assert message.get_content().replace("\r\n", "\n") == notification.body  # CRLF on the wire


@pytest.mark.smtp
def test_implicit_tls_with_auth_delivers(smtp_server: Any, notification: Message) -> None:
    server = smtp_server("tls", user="fernwart", password="s3cret")
    sender = transport(server, security="tls", username="fernwart", password="s3cret")
    assert sender.send(notification, "ops@muster.example").response_code == 250
    [(_, envelope)] = server.messages()
    assert envelope["tls"] is True
    assert envelope["auth_user"] == "fernwart"


@pytest.mark.smtp
def test_wrong_password_is_one_permanent_attempt(smtp_server: Any, notification: Message) -> None:
    server = smtp_server("starttls", user="fernwart", password="s3cret")
    sender = transport(server, security="starttls", username="fernwart", password="wrong")
    attempts = deliver(
        notification, "ops@muster.example", sender, max_attempts=3, sleep=_no_sleep, now=lambda: NOW
    )
    assert [(a.outcome, a.response_code) for a in attempts] == [(AttemptOutcome.PERMANENT, 535)]
    assert "authentication refused" in attempts[0].error
    assert server.messages() == []


@pytest.mark.smtp
def test_unknown_recipient_is_permanent(smtp_server: Any, notification: Message) -> None:
    server = smtp_server()
    with pytest.raises(PermanentError, match="unknown@muster.example refused: 550") as caught:
        transport(server).send(notification, "unknown@muster.example")
    assert caught.value.response_code == 550
    assert server.messages() == []


@pytest.mark.smtp
def test_greylisted_recipient_is_retried(smtp_server: Any, notification: Message) -> None:
    server = smtp_server()
    pauses: list[float] = []
    attempts = deliver(notification, "busy@muster.example", transport(server), max_attempts=2,
                       backoff=Backoff(base=30), sleep=pauses.append, now=lambda: NOW)
    assert [(a.outcome, a.response_code) for a in attempts] == [(AttemptOutcome.RETRYABLE, 451)] * 2
    assert pauses == [30]


@pytest.mark.smtp
def test_relay_without_starttls_is_permanent(smtp_server: Any, notification: Message) -> None:
    server = smtp_server("none")
    with pytest.raises(PermanentError, match="STARTTLS"):
        transport(server, security="starttls").send(notification, "ops@muster.example")
    assert server.messages() == []


@pytest.mark.smtp
def test_untrusted_certificate_is_permanent(smtp_server: Any, notification: Message) -> None:
    server = smtp_server("starttls")
    with pytest.raises(PermanentError, match="does not verify"):
        transport(server, security="starttls", ca_file=None).send(notification, "ops@muster.example")
    assert server.messages() == []


def test_refused_connection_is_retryable(notification: Message) -> None:
    port = free_port()  # nothing listens there
    pauses: list[float] = []
    attempts = deliver(notification, "ops@muster.example", transport(port=port), max_attempts=3,
                       backoff=Backoff(base=1, factor=2), sleep=pauses.append, now=lambda: NOW)
    assert [a.outcome for a in attempts] == [AttemptOutcome.RETRYABLE] * 3
    assert all("cannot talk to 127.0.0.1" in a.error and a.response_code is None for a in attempts)
    assert pauses == [1, 2]


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"must not back off ({seconds}s)")
