"""Notifications: queued once in the database, delivered by a periodic job, every attempt stored.

`queue` inserts one row per (ticket, event, level, contact) with a unique `dedupe_key`, so two collectors
that decide the same page race on a constraint and only one row exists. `deliver_due` claims due rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), sends each through its transport (email addresses through
the email transport, http(s) URLs through the webhook transport), stores a `Delivery` per attempt and
schedules retries with backoff. Transports are configured in a YAML file (`FERNWART_NOTIFY_CONFIG`,
default `$FERNWART_HOME/notify.yaml`): ``email: {host, port, security, username, password, from_address}``
and ``webhook: {secret}``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fernwart.collector.domain.calendar import local_text
from fernwart.collector.models import NOTIFICATIONS, Delivery, Host, Notification, Ticket
from fernwart.collector.notify import registry
from fernwart.collector.notify.base import (
    Attachment,
    Message,
    NotificationKind,
    NotificationPayload,
    PermanentError,
    Receipt,
    Transport,
)
from fernwart.collector.notify.dispatch import Backoff, deliver
from fernwart.collector.services import report_formats, reports

log = logging.getLogger("fernwart.collector.notifications")
MAX_ATTEMPTS = 6
BACKOFF = Backoff(base=30, factor=2, cap=3600)


class NotifyConfigError(ValueError):
    """Raised for a notification config file that cannot be used; the message names file and key."""


def load_transports(path: Path) -> dict[str, Transport]:
    """Build the configured transports from `path`; a missing file means none are configured."""
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise NotifyConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise NotifyConfigError(f"{path}: expected a mapping with 'email' and/or 'webhook'")
    transports: dict[str, Transport] = {}
    for name, options in raw.items():
        if name not in registry.TRANSPORTS or not isinstance(options, Mapping):
            raise NotifyConfigError(
                f"{path}: {name}: expected one of {', '.join(registry.TRANSPORTS)} with a mapping of options"
            )
        try:
            transports[name] = registry.build({"type": name, **options})
        except ValueError as exc:
            raise NotifyConfigError(f"{path}: {name}: {exc}") from None
    return transports


def transport_name(target: str) -> str:
    """Return the transport for a contact: http(s) URLs go to the webhook, everything else is email."""
    return "webhook" if target.startswith(("http://", "https://")) else "email"


def _due(at: datetime | None, timezone: str) -> str:
    return local_text(at, timezone) if at is not None else "-"


def queue(
    session: Session,
    ticket: Ticket,
    kind: NotificationKind,
    level: int,
    targets: tuple[str, ...],
    now: datetime,
    customer: str,
    detail: str = "",
    dashboard_url: str = "",
    timezone: str = "UTC",
) -> int:
    """Queue `kind` about `ticket` for each target once ever; return how many rows were new.

    Due times in the body are in the contract's `timezone` with UTC beside them, to the minute.
    """
    host = session.get(Host, ticket.host_id)
    host_name = host.name if host else ticket.host_id
    what = "host unreachable" if ticket.check_name == "host" else ticket.check_name
    subject = (
        f"[Fernwart {ticket.priority or '-'}] #{ticket.id} {kind.value.replace('_', ' ')}: {host_name} {what}"
    )
    body = "\n".join(
        line
        for line in (
            f"Ticket #{ticket.id} ({customer}): {ticket.title}",
            f"Event: {kind.value}" + (f" - {detail}" if detail else ""),
            f"Priority: {ticket.priority or '-'}   Level: {level}   State: {ticket.state}",
            f"Response due: {_due(ticket.response_due, timezone)}",
            f"Resolution due: {_due(ticket.resolution_due, timezone)}",
            f"{dashboard_url}/tickets/{ticket.id}" if dashboard_url else "",
        )
        if line
    )
    rows: list[dict[str, Any]] = []
    for target in targets:
        key = f"{ticket.id}:{kind.value}:{level}:{detail}:{target}"[:300]
        payload = NotificationPayload(
            notification_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"fernwart:{key}")),
            kind=kind,
            occurred_at=now,
            ticket_id=ticket.id,
            customer=customer,
            host=host_name,
            check=None if ticket.check_name == "host" else ticket.check_name,
            level=level,
            priority=ticket.priority or "",
            response_due=ticket.response_due,
            resolution_due=ticket.resolution_due,
            dashboard_url=f"{dashboard_url}/tickets/{ticket.id}" if dashboard_url else "",
        )
        rows.append(
            {
                "dedupe_key": key,
                "ticket_id": ticket.id,
                "kind": kind.value,
                "level": level,
                "target": target,
                "subject": subject,
                "body": body,
                "payload": payload.model_dump(mode="json"),
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "last_error": "",
            }
        )
    return insert_once(session, rows)


def insert_once(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert notification rows, skipping any whose `dedupe_key` exists already; return how many were new."""
    if not rows:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = NOTIFICATIONS
    statement = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    return len(list(session.connection().execute(statement, rows).scalars()))


def deliver_due(
    session: Session,
    transports: Mapping[str, Transport],
    now: datetime,
    limit: int = 50,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Send up to `limit` due notifications, one attempt each, storing every attempt; return how many
    were delivered.

    A retryable failure is tried again after the backoff (longer when the receiver sent Retry-After), up to
    MAX_ATTEMPTS; a notification with no configured transport fails permanently, visibly. `clock` times
    the attempts (default: `now` for both ends). The caller commits.
    """
    query = (
        select(Notification)
        .where(Notification.state == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    delivered = 0
    for row in session.scalars(query).all():
        name = transport_name(row.target)
        transport = transports.get(name) or _Unconfigured(name)
        payload = NotificationPayload.model_validate(row.payload)
        message = Message(row.subject, row.body, payload, _attachments(session, payload))
        row.attempts += 1
        (attempt,) = deliver(
            message, row.target, transport, max_attempts=1, now=clock or (lambda: now)
        )
        session.add(
            Delivery(
                notification_id=row.id,
                attempt=row.attempts,
                transport=name,
                target=row.target,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                outcome=attempt.outcome.value,
                error=attempt.error[:2000],
                response_code=attempt.response_code,
            )
        )
        row.last_error = attempt.error[:2000]
        if attempt.ok:
            row.state = "delivered"
            delivered += 1
        elif attempt.permanent or row.attempts >= MAX_ATTEMPTS:
            row.state = "failed"
            log.warning("notification %s to %s failed: %s", row.id, row.target, attempt.error)
        else:
            pause = BACKOFF.delay(row.attempts, attempt.retry_after)
            row.next_attempt_at = now + timedelta(seconds=pause)
    return delivered


def _attachments(session: Session, payload: NotificationPayload) -> tuple[Attachment, ...]:
    """Return the files a notification carries: a monthly report its stored PDF, rendered now."""
    if payload.kind is not NotificationKind.MONTHLY_REPORT or payload.month is None:
        return ()
    document = reports.stored(session, payload.customer, payload.month)
    if document is None:  # the stored report went away; send the text, which says where to find it
        return ()
    fmt = report_formats.ReportFormat.PDF
    return (Attachment(report_formats.filename(document, fmt), "application/pdf",
                       report_formats.render(document, fmt)),)


class _Unconfigured:
    """Stands in for a transport the notification config does not set up: every attempt fails for good."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, notification: Message, target: str) -> Receipt:
        raise PermanentError(f"no {self.name} transport configured (see FERNWART_NOTIFY_CONFIG)")
