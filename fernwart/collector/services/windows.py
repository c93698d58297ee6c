"""Maintenance windows in force: the contract's (recurring and one-off) plus technicians' ad-hoc ones.

Inside a window no ticket is opened for its scope and no one is paged; results are still stored. Every
window is logged: an ad-hoc window's creation, and each ticket or page a window held back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.domain.calendar import utc_text
from fernwart.collector.domain.windows import MaintenanceWindow, Scope
from fernwart.collector.models import AdHocWindow, Customer, MaintenanceLog
from fernwart.collector.services.contracts import contract_of
from fernwart.collector.services.errors import Invalid


@dataclass(frozen=True)
class ListedWindow:
    """A window as the windows list shows it: the domain window, and who added it if it is ad hoc."""

    window: MaintenanceWindow
    adhoc_id: int | None = None
    created_by: str | None = None


def listed(session: Session, customer_id: int) -> list[ListedWindow]:
    """Return a customer's contract windows, then its ad-hoc ones by start."""
    contract = contract_of(session, customer_id)
    timezone = contract.contract.timezone if contract else "UTC"
    found = [ListedWindow(w) for w in (contract.contract.maintenance_windows if contract else ())]
    for row in session.scalars(
        select(AdHocWindow)
        .where(AdHocWindow.customer_id == customer_id)
        .order_by(AdHocWindow.starts_at, AdHocWindow.id)
    ):
        found.append(ListedWindow(to_window(row, timezone), row.id, row.created_by))
    return found


def to_window(row: AdHocWindow, timezone: str) -> MaintenanceWindow:
    """Return a stored ad-hoc window as a domain window in the contract's timezone."""
    return MaintenanceWindow(
        row.name, timezone, Scope.parse(row.scope), row.sla_relevant, row.starts_at, row.ends_at,
        reason=row.reason,
    )


def windows_of(session: Session, customer_id: int | None) -> list[MaintenanceWindow]:
    """Return every window of a customer: the contract's and the ad-hoc ones, in the contract timezone."""
    if customer_id is None:
        return []
    contract = contract_of(session, customer_id)
    timezone = contract.contract.timezone if contract else "UTC"
    found = list(contract.contract.maintenance_windows) if contract else []
    for row in session.scalars(select(AdHocWindow).where(AdHocWindow.customer_id == customer_id)):
        found.append(to_window(row, timezone))
    return found


def log(
    session: Session,
    at: datetime,
    customer_id: int | None,
    window: str,
    kind: str,
    host_id: str | None = None,
    check_name: str | None = None,
    message: str = "",
) -> None:
    """Append one entry to the maintenance log."""
    session.add(
        MaintenanceLog(
            at=at,
            customer_id=customer_id,
            window=window,
            kind=kind,
            host_id=host_id,
            check_name=check_name,
            message=message,
        )
    )


def add(
    session: Session,
    *,
    customer: str,
    name: str,
    scope: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str,
    now: datetime,
    sla_relevant: bool = False,
) -> ListedWindow:
    """Add an ad-hoc window for a known customer; raise Invalid for a bad scope, times or reason."""
    row = session.scalar(select(Customer).where(Customer.name == customer))
    if row is None:
        raise Invalid(f"customer: unknown customer {customer!r}")
    if not reason.strip():
        raise Invalid("reason: an ad-hoc window needs a reason")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid("from/to: give times with a UTC offset")
    if ends_at <= starts_at:
        raise Invalid("to: the window ends before it starts")
    try:
        Scope.parse(scope)
    except ValueError as exc:
        raise Invalid(f"scope: {exc}") from None
    window = AdHocWindow(
        customer_id=row.id,
        name=name,
        scope=scope,
        starts_at=starts_at,
        ends_at=ends_at,
        sla_relevant=sla_relevant,
        reason=reason,
        created_by=actor,
        created_at=now,
    )
    session.add(window)
    session.flush()
    log(
        session,
        now,
        row.id,
        name,
        "created",
        message=f"{scope} {utc_text(starts_at)} - {utc_text(ends_at)} by {actor}: {reason}",
    )
    zone = contract.contract.timezone if (contract := contract_of(session, row.id)) else "UTC"
    return ListedWindow(to_window(window, zone), window.id, actor)
