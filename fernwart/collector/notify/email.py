"""Email transport: one plain-text message per recipient through an SMTP relay (smtplib).

Configuration (the target of each send is one email address)::

    type: email
    host: smtp.provider.example
    port: 587                 # default: 25 for none, 587 for starttls, 465 for tls
    security: starttls        # none | starttls | tls (implicit TLS); default starttls
    username: fernwart        # optional; needs password, and refused with security none
    password: "..."
    from_address: fernwart@provider.example
    timeout: 10               # seconds per socket operation; default 10
    ca_file: null             # PEM bundle to verify the relay's certificate; default: system CAs
    helo_name: null           # name sent in EHLO; default: this host's FQDN

Outcomes: an SMTP 5xx answer (recipient unknown, credentials refused, sender or content rejected), a
relay that lacks STARTTLS or AUTH, and a certificate that does not verify are permanent; 4xx answers,
refused or dropped connections and timeouts are retried. The Message-ID derives from the notification
id, so a retried message carries the same id and mail clients can drop the duplicate.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from fernwart.collector.notify.base import (
    Message,
    NotificationError,
    PermanentError,
    Receipt,
    TransportError,
    utc_now,
)

_ADDRESS = re.compile(r"[^@\s,;:<>()\[\]\"]+@[^@\s,;:<>()\[\]\"]+")
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


def is_address(text: str) -> bool:
    """Return True for a bare ASCII address such as ``ops@example.com`` (no display name, no list)."""
    return text.isascii() and _ADDRESS.fullmatch(text) is not None


class EmailConfig(BaseModel):
    """The validated configuration of an email transport; unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    timeout: float = Field(default=10.0, gt=0, le=300)
    ca_file: str | None = None
    helo_name: str | None = None

    @field_validator("from_address")
    @classmethod
    def _from_is_address(cls, value: str) -> str:
        if not is_address(value):
            raise ValueError(f"not a bare email address: {value!r}")
        return value

    @model_validator(mode="after")
    def _auth_is_complete_and_encrypted(self) -> EmailConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is not None and self.security == "none":
            raise ValueError("refusing to send a password unencrypted; use security: starttls or tls")
        return self

    @property
    def effective_port(self) -> int:
        """Return the configured port, or the usual one for the security mode."""
        return self.port if self.port is not None else _DEFAULT_PORTS[self.security]


SmtpFactory = Callable[[EmailConfig, ssl.SSLContext], smtplib.SMTP]


def connect_smtp(config: EmailConfig, context: ssl.SSLContext) -> smtplib.SMTP:
    """Return an smtplib client connected to the relay, greeting read (SMTP_SSL for implicit TLS).

    Host and port go to the constructor on purpose: smtplib remembers the host for TLS certificate
    checks only there, not in a later `connect()`.
    """
    host, port = config.host, config.effective_port
    if config.security == "tls":
        return smtplib.SMTP_SSL(
            host, port, local_hostname=config.helo_name, timeout=config.timeout, context=context
        )
    return smtplib.SMTP(host, port, local_hostname=config.helo_name, timeout=config.timeout)


def build_message(notification: Message, target: str, from_address: str, now: datetime) -> EmailMessage:
    """Return the MIME message for `target`: text/plain UTF-8 with Subject, From, To, Date, Message-ID,
    and each attachment as a further part (multipart/mixed then).

    Line breaks in the subject are folded into spaces (header injection is impossible); a non-ASCII body
    is quoted-printable, so the message needs no 8BITMIME. `now` must be timezone-aware.
    """
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = " ".join(notification.subject.split())
    message["From"] = from_address
    message["To"] = target
    message["Date"] = format_datetime(now)
    domain = from_address.rpartition("@")[2]
    local = re.sub(r"[^A-Za-z0-9._-]", "-", notification.id) or "notification"
    message["Message-ID"] = f"<{local}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the collector
    message["X-Fernwart-Event"] = notification.payload.kind.value
    if notification.payload.ticket_id is not None:
        message["X-Fernwart-Ticket"] = str(notification.payload.ticket_id)
    if notification.payload.month is not None:
        message["X-Fernwart-Report-Month"] = notification.payload.month
    cte = None if notification.body.isascii() else "quoted-printable"
    message.set_content(notification.body, charset="utf-8", cte=cte)
    for attachment in notification.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


class EmailTransport:
    """Sends each notification as one email through the configured relay, a new connection per send.

    `smtp_factory` injects the connecting SMTP client; `now` the clock for the Date header.
    Raises OSError at construction when `ca_file` cannot be read.
    """

    name = "email"
    Config = EmailConfig

    def __init__(
        self,
        config: EmailConfig,
        *,
        now: Callable[[], datetime] = utc_now,
        smtp_factory: SmtpFactory = connect_smtp,
    ) -> None:
        self.config = config
        self.now = now
        self.smtp_factory = smtp_factory
        self.tls_context = ssl.create_default_context(cafile=config.ca_file)

    def send(self, notification: Message, target: str) -> Receipt:
        """Send `notification` to the address `target`; return the relay's DATA answer as the receipt.

        Raises PermanentError for a target that is not a bare ASCII address, without connecting.
        """
        if not is_address(target):
            raise PermanentError(f"not a bare email address: {target!r}")
        config = self.config
        message = build_message(notification, target, config.from_address, self.now())
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self.smtp_factory(config, self.tls_context)
            smtp.ehlo()
            if config.security == "starttls":
                smtp.starttls(context=self.tls_context)
                smtp.ehlo()
            if config.username is not None and config.password is not None:
                smtp.login(config.username, config.password.get_secret_value())
            code, reply = smtp.mail(config.from_address)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, config.from_address)
            code, reply = smtp.rcpt(target)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({target: (code, reply)})
            code, reply = smtp.data(message.as_bytes())
            receipt = Receipt(response_code=code, detail=reply.decode("utf-8", errors="replace"))
            _quit_quietly(smtp)
            return receipt
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc, config.host) from exc
        finally:
            if smtp is not None:
                smtp.close()

    def close(self) -> None:
        """Release nothing: every send opens and closes its own connection; here so all transports close."""


def classify(exc: smtplib.SMTPException | OSError, host: str) -> NotificationError:
    """Return the PermanentError or TransportError that `exc`, raised while talking to `host`, means."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        (recipient, (code, reply)), *_ = exc.recipients.items()
        return _by_code(code, f"recipient {recipient} refused: {code} {_text(reply)}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _by_code(exc.smtp_code, f"authentication refused: {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"{host} answered {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransportError(f"{host} closed the connection: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        # What smtplib raises without a reply code is a capability mismatch (no STARTTLS, no usable AUTH).
        return PermanentError(f"{host}: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentError(f"certificate of {host} does not verify: {exc.verify_message}")
    if isinstance(exc, TimeoutError):
        return TransportError(f"timed out talking to {host}")
    return TransportError(f"cannot talk to {host}: {exc}")


def _by_code(code: int, message: str) -> NotificationError:
    if 500 <= code < 600:
        return PermanentError(message, response_code=code)
    return TransportError(message, response_code=code)


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    # The relay has taken the message; a failing QUIT must not turn success into a retry (a duplicate).
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
