"""deliver(): attempts, backoff and records, on a scripted fake transport and a fake clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from fernwart.collector.notify.base import (
    Attempt,
    AttemptOutcome,
    Message,
    PermanentError,
    Receipt,
    TransportError,
)
from fernwart.collector.notify.dispatch import Backoff, deliver
from tests.collector.notify.conftest import NOW


class ScriptedTransport:
    """Answers each send with the next scripted receipt or error."""

    name = "fake"

    def __init__(self, *script: Receipt | Exception) -> None:
        self.script = list(script)
        self.targets: list[str] = []

    def send(self, notification: Message, target: str) -> Receipt:
        self.targets.append(target)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def ticking_clock() -> Iterator[dt.datetime]:
    moment = NOW
    while True:
        yield moment
        moment += dt.timedelta(seconds=1)


def run(
    transport: ScriptedTransport, notification: Message, **kwargs: object
) -> tuple[list[Attempt], list[float]]:
    pauses: list[float] = []
    clock = ticking_clock()
    attempts = deliver(notification, "ops@x.example", transport, sleep=pauses.append,
                       now=lambda: next(clock), **kwargs)  # type: ignore[arg-type]
    return attempts, pauses


def test_first_success_is_one_delivered_record(notification: Message) -> None:
    attempts, pauses = run(ScriptedTransport(Receipt(250, "queued")), notification)
    assert attempts == [Attempt(
        transport="fake", target="ops@x.example", notification_id="ntf-42-escalated-2", attempt=1,
        started_at=NOW, finished_at=NOW + dt.timedelta(seconds=1), outcome=AttemptOutcome.DELIVERED,
        error="", response_code=250,
    )]
    assert attempts[0].ok and not attempts[0].permanent
    assert pauses == []


def test_retries_with_exponential_backoff_until_success(notification: Message) -> None:
    transport = ScriptedTransport(TransportError("reset"), TransportError("HTTP 503", response_code=503),
                                  Receipt(200))
    attempts, pauses = run(transport, notification, max_attempts=5, backoff=Backoff(base=10, factor=2))
    assert [(a.attempt, a.outcome, a.error, a.response_code) for a in attempts] == [
        (1, AttemptOutcome.RETRYABLE, "reset", None),
        (2, AttemptOutcome.RETRYABLE, "HTTP 503", 503),
        (3, AttemptOutcome.DELIVERED, "", 200),
    ]
    assert pauses == [10, 20]
    # The clock is read at each start and finish, so the pauses do not hide in the records.
    assert [a.started_at for a in attempts] == [NOW + dt.timedelta(seconds=s) for s in (0, 2, 4)]


def test_gives_up_after_max_attempts_without_a_final_pause(notification: Message) -> None:
    transport = ScriptedTransport(*[TransportError("timeout")] * 3)
    attempts, pauses = run(transport, notification, max_attempts=3, backoff=Backoff(base=1))
    assert [a.outcome for a in attempts] == [AttemptOutcome.RETRYABLE] * 3
    assert pauses == [1, 2]


def test_permanent_error_stops_at_once(notification: Message) -> None:
    refused = PermanentError("550 no such user", response_code=550)
    transport = ScriptedTransport(TransportError("busy"), refused, Receipt(250))
    attempts, pauses = run(transport, notification, max_attempts=5, backoff=Backoff(base=1))
    assert [(a.outcome, a.response_code) for a in attempts] == [(AttemptOutcome.RETRYABLE, None),
                                                                (AttemptOutcome.PERMANENT, 550)]
    assert attempts[-1].permanent
    assert pauses == [1]
    assert len(transport.script) == 1  # the third step was never asked for


def test_on_attempt_sees_each_record_before_the_pause(notification: Message) -> None:
    events: list[str] = []
    transport = ScriptedTransport(TransportError("busy"), Receipt(200))
    deliver(notification, "t", transport, max_attempts=2, backoff=Backoff(base=4),
            sleep=lambda s: events.append(f"sleep {s:g}"), now=lambda: NOW,
            on_attempt=lambda d: events.append(f"stored {d.attempt} {d.outcome}"))
    assert events == ["stored 1 retryable", "sleep 4", "stored 2 delivered"]


def test_bugs_propagate(notification: Message) -> None:
    with pytest.raises(ZeroDivisionError):
        run(ScriptedTransport(ZeroDivisionError()), notification)


def test_max_attempts_below_one_is_refused(notification: Message) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run(ScriptedTransport(Receipt(200)), notification, max_attempts=0)


@pytest.mark.parametrize(("attempt", "retry_after", "expected"), [
    (1, None, 5), (2, None, 10), (3, None, 20), (10, None, 60),
    (1, 30, 30), (2, 1, 10), (1, 3600, 60),
])
def test_backoff_delay(attempt: int, retry_after: float | None, expected: float) -> None:
    assert Backoff(base=5, factor=2, cap=60).delay(attempt, retry_after) == expected
