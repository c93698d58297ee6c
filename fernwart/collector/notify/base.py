"""The notification contract: what is sent, what one attempt left behind, and what a transport must do.

A `Transport` is configured once (an SMTP relay, a webhook secret) and then asked many times to
`send(notification, target)`. It returns a `Receipt` when the other side accepted the message and raises
`TransportError` (worth retrying) or `PermanentError` (retrying cannot help) when it did not. Timing,
attempt numbers and retries are not the transport's business: `collector.notify.dispatch.deliver` turns
every attempt into a `Attempt` record, which the collector stores so that each attempt is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (the default clock of every transport)."""
    return datetime.now(UTC)


class NotificationKind(StrEnum):
    """Why a notification goes out; the webhook payload's `kind` and the `X-Fernwart-Event` header."""

    TICKET_OPENED = "ticket_opened"
    ESCALATED = "escalated"
    HANDED_BACK = "handed_back"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    MONTHLY_REPORT = "monthly_report"  # the contract's monthly SLA report to `report_to`, PDF attached


class NotificationPayload(BaseModel):
    """The structured part of a notification, sent as JSON by the webhook transport.

    `notification_id` is stable across retries of the same notification, so a receiver can drop
    duplicates. Times are aware UTC datetimes, serialised as ISO 8601. `check` is None for a host-level
    event; `response_due` / `resolution_due` are None when the clock is stopped or not applicable. A
    monthly report has no ticket: `ticket_id` is None, `month` names the report's month, `host` is empty.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    notification_id: str
    kind: NotificationKind
    occurred_at: datetime
    ticket_id: int | None
    customer: str
    host: str
    check: str | None = None
    level: int
    priority: str
    response_due: datetime | None = None
    resolution_due: datetime | None = None
    dashboard_url: str
    month: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent along with a message (the monthly report's PDF); transports without files ignore it."""

    filename: str
    media_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Message:
    """One message to people or systems: a human subject and text body plus the structured payload."""

    subject: str
    body: str
    payload: NotificationPayload
    attachments: tuple[Attachment, ...] = ()

    @property
    def id(self) -> str:
        """Return the notification's id, the same for every attempt and every transport."""
        return self.payload.notification_id

    def payload_json(self) -> dict[str, Any]:
        """Return the payload as JSON-ready values (enums as strings, datetimes as ISO 8601 text)."""
        return self.payload.model_dump(mode="json")


@dataclass(frozen=True)
class Receipt:
    """What the receiving side said when it accepted a message.

    `response_code` is the HTTP status or SMTP reply code; `detail` a short excerpt of the answer.
    """

    response_code: int | None = None
    detail: str = ""


class NotificationError(Exception):
    """Base of the errors a transport raises; carries the response code when the other side gave one.

    `retry_after` (seconds) is set when the receiver asked for a pause (HTTP `Retry-After`).
    """

    def __init__(self, message: str, *, response_code: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.response_code = response_code
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class TransportError(NotificationError):
    """Raised when an attempt failed in a way that may pass: timeouts, refused connections, SMTP 4xx."""


class PermanentError(NotificationError):
    """Raised when retrying cannot help: bad recipient, refused credentials, HTTP 4xx, invalid target."""


class AttemptOutcome(StrEnum):
    """How one delivery attempt ended."""

    DELIVERED = "delivered"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Attempt:
    """The record of one delivery attempt, stored by the collector so every attempt is visible.

    `attempt` counts from 1. `error` is empty when the attempt succeeded; `response_code` is None
    when the other side never answered (connection refused, timeout); `retry_after` is the pause in
    seconds the receiver asked for, if it did.
    """

    transport: str
    target: str
    notification_id: str
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: AttemptOutcome
    error: str = ""
    response_code: int | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """Return True when the receiving side accepted the message."""
        return self.outcome is AttemptOutcome.DELIVERED

    @property
    def permanent(self) -> bool:
        """Return True when the attempt failed in a way no retry can fix."""
        return self.outcome is AttemptOutcome.PERMANENT


class Transport(Protocol):
    """A configured way to reach people or systems (`name` is its registry key, e.g. "email").

    `send` returns a `Receipt` once the other side accepted the message and raises `TransportError`
    or `PermanentError` otherwise; any other exception is a bug and propagates. `target` is the
    transport's address form: an email address, a webhook URL.
    """

    name: str

    def send(self, notification: Message, target: str) -> Receipt: ...
