"""The monthly report by mail: on the first of a month (in the contract's timezone) the month just ended
goes to the contract's `report_to`, once per customer, month and address, PDF attached.

Runs in the periodic sweep (under its advisory lock on PostgreSQL). "Once" is the database's: each mail is a
notification row whose `dedupe_key` names customer, month and address, inserted with ON CONFLICT DO
NOTHING, and the report itself is stored once per month (`services.reports.report_for`), so two
collectors, or one that restarts, neither mail twice nor mail two different reports. If no collector ran
on the first, the mail goes out on the first sweep of the next days up to the `SEND_DAYS`th; later, and for
any older month, it is not sent by itself (a report installed mid-month does not surprise anyone).
The PDF is rendered from the stored report at delivery (`services.notifications`), not kept in the queue.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.models import Customer, Notification, StoredContract
from fernwart.collector.notify.base import NotificationKind, NotificationPayload
from fernwart.collector.services import notifications, reports
from fernwart.collector.services.contracts import contract_of
from fernwart.collector.services.errors import ServiceError
from fernwart.collector.services.read.scope import CustomerRef

log = logging.getLogger("fernwart.collector.report_mail")
MAILED_BY = "job:monthly-report"
SEND_DAYS = 3  # the mail goes out on days 1 to 3 of the month, local time (1 unless every collector was down)


def month_just_ended(now: datetime, timezone: str) -> str:
    """Return "YYYY-MM" of the month before the one `now` falls in, in `timezone`."""
    local = now.astimezone(load_zone(timezone))
    last_day = local.replace(day=1) - timedelta(days=1)
    return f"{last_day.year:04d}-{last_day.month:02d}"


def dedupe_key(customer_id: int, month: str, target: str) -> str:
    """Return the notification key that makes a report mail unique per customer, month and address."""
    return f"report:{customer_id}:{month}:{target}"[:300]


def queue_due(session: Session, now: datetime, dashboard_url: str = "") -> int:
    """Queue the month just ended for every contract with `report_to` not yet mailed; return rows queued.

    A customer whose report cannot be made (say, no data at all) is logged and skipped; the others go out.
    The caller commits.
    """
    queued = 0
    rows = session.execute(
        select(StoredContract.customer_id, Customer.name)
        .join(Customer, Customer.id == StoredContract.customer_id)
        .order_by(Customer.name)
    ).all()
    for customer_id, name in rows:
        contract = contract_of(session, customer_id)
        if contract is None or not contract.contract.report_to:
            continue
        if now.astimezone(load_zone(contract.contract.timezone)).day > SEND_DAYS:
            continue
        month = month_just_ended(now, contract.contract.timezone)
        targets = [t for t in contract.contract.report_to if not _queued(session, customer_id, month, t)]
        if not targets:
            continue
        customer = CustomerRef(customer_id, name)
        try:
            with session.begin_nested():
                document = reports.report_for(session, customer, month, now, MAILED_BY)
        except ServiceError as exc:
            log.warning("monthly report %s for %s not made: %s", month, name, exc)
            continue
        queued += notifications.insert_once(
            session, [_row(customer, month, t, document, now, dashboard_url) for t in targets]
        )
    return queued


def _queued(session: Session, customer_id: int, month: str, target: str) -> bool:
    key = dedupe_key(customer_id, month, target)
    return session.scalar(select(Notification.id).where(Notification.dedupe_key == key)) is not None


def _row(
    customer: CustomerRef,
    month: str,
    target: str,
    document: dict[str, Any],
    now: datetime,
    dashboard_url: str,
) -> dict[str, Any]:
    key = dedupe_key(customer.id, month, target)
    body = "\n".join((
        f"Monthly SLA report {month} for {customer.name}",
        "",
        str(document["summary"]),
        "",
        "The full report is attached as PDF.",
    ))
    payload = NotificationPayload(
        notification_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"fernwart:{key}")),
        kind=NotificationKind.MONTHLY_REPORT,
        occurred_at=now,
        ticket_id=None,
        customer=customer.name,
        host="",
        level=0,
        priority="",
        dashboard_url=dashboard_url,
        month=month,
    )
    return {
        "dedupe_key": key,
        "ticket_id": None,
        "kind": NotificationKind.MONTHLY_REPORT.value,
        "level": None,
        "target": target,
        "subject": f"[Fernwart] SLA report {month} {customer.name}: {document['summary']}",
        "body": body,
        "payload": payload.model_dump(mode="json"),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "last_error": "",
    }
