"""Reading when a host's agent last delivered results, and how far behind that delivery was.

A batch's results share their `received_at` (ingest stamps the batch), so the last delivery is the rows
with the newest `received_at`. The agent does not report its outbox size; what the collector can see is
how old the oldest result of the last delivery was when it arrived (an outbox replaying after an outage
delivers results hours old). `backlog` stays None until agents report their outbox depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fernwart.collector.models import Host, Result
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import NotFound
from fernwart.collector.services.read.scope import visible


@dataclass(frozen=True)
class LastDelivery:
    """The newest batch of results: when it arrived, how many results, and the oldest observation in it."""

    received_at: datetime
    results: int
    oldest_observed_at: datetime
    backlog: int | None = None  # results waiting in the agent's outbox, once agents report it

    @property
    def delay_seconds(self) -> int:
        """Return how many seconds the oldest result of the delivery waited before it arrived (>= 0)."""
        return max(0, int((self.received_at - self.oldest_observed_at).total_seconds()))


def last_delivery(session: Session, account: Account, host_id: str) -> LastDelivery | None:
    """Return the host's last delivery of results, None when it never delivered; NotFound when hidden."""
    if session.scalar(select(Host.id).where(Host.id == host_id).where(visible(account))) is None:
        raise NotFound(f"host {host_id} not found")
    newest = session.scalar(select(func.max(Result.received_at)).where(Result.host_id == host_id))
    if newest is None:
        return None
    count, oldest = session.execute(
        select(func.count(), func.min(Result.observed_at)).where(
            Result.host_id == host_id, Result.received_at == newest
        )
    ).one()
    return LastDelivery(newest, int(count), oldest)
