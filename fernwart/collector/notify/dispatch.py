"""Attempt of one notification to one target: attempts, exponential backoff, and a record of each attempt.

`deliver` is a function of its injected parts (transport, clock, sleep), so its retry logic is tested
without sockets or waiting. It blocks while it backs off; a caller that would rather reschedule than
wait runs it with `max_attempts=1` and asks `Backoff.delay` when to try again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fernwart.collector.notify.base import (
    Attempt,
    AttemptOutcome,
    Message,
    NotificationError,
    PermanentError,
    Transport,
    TransportError,
    utc_now,
)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `base` seconds after the first failure, times `factor` after each further one,
    never more than `cap` seconds."""

    base: float = 2.0
    factor: float = 2.0
    cap: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Return the pause after failed attempt number `attempt` (counting from 1).

        A receiver's `retry_after` lengthens the pause (never shortens it), still bounded by `cap`.
        """
        pause = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        if retry_after is not None:
            pause = max(pause, min(self.cap, retry_after))
        return pause


REASON_LIMIT = 200


def reason(error: Exception) -> str:
    """Return the error as one printable line of at most REASON_LIMIT characters, for the delivery log."""
    text = "".join(c if c.isprintable() else " " for c in str(error))
    text = " ".join(text.split())
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def deliver(
    notification: Message,
    target: str,
    transport: Transport,
    *,
    max_attempts: int = 3,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = utc_now,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> list[Attempt]:
    """Send `notification` to `target`, retrying retryable failures; return one `Attempt` per attempt.

    Stops at the first success, at a `PermanentError`, or after `max_attempts` attempts; sleeps between
    attempts only (never after the last). `on_attempt` sees each record as soon as the attempt ends, so
    the caller can store it before the next backoff. Exceptions other than the transport errors are bugs
    and propagate. Raises ValueError when `max_attempts` < 1.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    deliveries: list[Attempt] = []
    for attempt in range(1, max_attempts + 1):
        started_at = now()
        error: NotificationError | None = None
        try:
            receipt = transport.send(notification, target)
        except (TransportError, PermanentError) as exc:
            error = exc
        finished_at = now()
        if error is None:
            outcome, text, code = AttemptOutcome.DELIVERED, "", receipt.response_code
        else:
            permanent = isinstance(error, PermanentError)
            outcome = AttemptOutcome.PERMANENT if permanent else AttemptOutcome.RETRYABLE
            text, code = reason(error), error.response_code
        delivery = Attempt(
            transport=transport.name,
            target=target,
            notification_id=notification.id,
            attempt=attempt,
            started_at=started_at,
            finished_at=finished_at,
            outcome=outcome,
            error=text,
            response_code=code,
            retry_after=error.retry_after if error is not None else None,
        )
        deliveries.append(delivery)
        if on_attempt is not None:
            on_attempt(delivery)
        if outcome is not AttemptOutcome.RETRYABLE or attempt == max_attempts:
            break
        assert error is not None
        sleep(backoff.delay(attempt, error.retry_after))
    return deliveries
