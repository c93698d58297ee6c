"""Reading the maintenance windows that cover a host, scoped by account, as the host page shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.domain.windows import MaintenanceWindow, Recurrence
from fernwart.collector.models import Host
from fernwart.collector.services import windows
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import NotFound
from fernwart.collector.services.read.scope import visible

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class HostWindow:
    name: str
    scope: str
    recurring: str  # "sun 02:00-04:00 Europe/Berlin", or "" for a one-off window
    starts_at: datetime | None
    ends_at: datetime | None
    sla_relevant: bool
    reason: str


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02}:{seconds % 3600 // 60:02}"


def recurrence_text(every: Recurrence, timezone: str) -> str:
    """Return a weekly recurrence as "mon,wed 22:00-02:00 ZONE" (an end of 24:00 stays 24:00)."""
    days = ",".join(DAY_NAMES[d] for d in sorted(every.days))
    return f"{days} {_clock(every.start)}-{_clock(every.end)} {timezone}"


def of_host(session: Session, account: Account, host_id: str) -> list[HostWindow]:
    """Return the windows of the host's customer whose scope can cover the host (any of its checks).

    NotFound when the account may not see the host; a host without a customer has no windows.
    """
    host = session.scalar(select(Host).where(Host.id == host_id).where(visible(account)))
    if host is None:
        raise NotFound(f"host {host_id} not found")
    found: list[MaintenanceWindow] = []
    for listed in windows.listed(session, host.customer_id) if host.customer_id is not None else []:
        scope = listed.window.scope
        if scope.host is None or scope.matches(host.name, "any"):
            found.append(listed.window)
    return [
        HostWindow(
            name=w.name,
            scope=str(w.scope),
            recurring="" if w.every is None else recurrence_text(w.every, w.timezone),
            starts_at=w.starts_at,
            ends_at=w.ends_at,
            sla_relevant=w.sla_relevant,
            reason=w.reason,
        )
        for w in found
    ]
