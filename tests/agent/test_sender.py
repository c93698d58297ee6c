from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import pytest

from fernwart.agent.outbox import Outbox
from fernwart.agent.sender import RETRY_AFTER_MAX, Sender
from fernwart.agent.transport import CollectorLink
from fernwart.checks.status import Status
from tests.agent.collector_stub import CollectorStub, Request
from tests.agent.helpers import T0, FakeClock, stamped
from tests.support import free_port


def fill(box: Outbox, n: int, summary: str = "r") -> list[str]:
    return [
        box.put(stamped(Status.CRITICAL, f"{summary}{i}", T0 + timedelta(seconds=i)),
                check=f"c{i % 3}", check_type="t", interval=60, max_attempts=3)
        for i in range(n)
    ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def transport(collector: CollectorStub) -> Iterator[CollectorLink]:
    client = CollectorLink(collector.url, "fwa_tok", timeout=(2, 5))
    yield client
    client.close()


def make_sender(box: Outbox, transport: CollectorLink, clock: FakeClock, **kw: object) -> Sender:
    options: dict[str, object] = {
        "host_id": "host-1", "heartbeat_interval": 60, "batch_size": 4, "clock": clock,
        "now": lambda: T0 + timedelta(hours=1), "rand": lambda: 1.0,
    }
    options.update(kw)
    return Sender(box, transport, **options)  # type: ignore[arg-type]


def posted_ids(collector: CollectorStub) -> list[list[str]]:
    return [[r["id"] for r in req.body["results"]] for req in collector.reports()]


def test_2xx_deletes_and_replays_with_own_timestamps(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    ids = fill(outbox, 6)
    sender = make_sender(outbox, transport, clock)
    assert sender.step() == 0.0  # more waiting: go on at once
    assert sender.step() == 60.0  # drained: next heartbeat due in a full interval
    assert outbox.count() == 0
    assert posted_ids(collector) == [ids[:4], ids[4:]]
    first = collector.reports()[0].body
    assert first["host_id"] == "host-1" and first["heartbeat_interval"] == 60
    assert first["sent_at"] == "2026-11-22T11:00:00Z"
    observed = [r["observed_at"] for r in first["results"]]
    assert observed[:2] == ["2026-11-22T10:00:00Z", "2026-11-22T10:00:01Z"]
    assert first["results"][0]["status"] == 2 and first["results"][0]["max_attempts"] == 3


def test_5xx_keeps_everything_and_backs_off_exponentially(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    collector.responder = lambda r: (503, {"error": "database down"})
    ids = fill(outbox, 3)
    sender = make_sender(outbox, transport, clock)
    delays = [sender.step() for _ in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]  # rand()=1: the ceiling itself
    assert [e.id for e in outbox.peek(10)] == ids
    assert sender.failures == 8


def test_backoff_is_full_jitter(outbox: Outbox, transport: CollectorLink, collector: CollectorStub) -> None:
    collector.responder = lambda r: (500, {"error": "x"})
    draws = iter([0.5, 0.25, 0.0])
    sender = make_sender(outbox, transport, FakeClock(), rand=lambda: next(draws))
    assert [sender.step() for _ in range(3)] == [0.5 * 1, 0.25 * 2, 0.0]


def test_connection_refused_keeps_everything(outbox: Outbox, clock: FakeClock) -> None:
    ids = fill(outbox, 2)
    client = CollectorLink(f"http://127.0.0.1:{free_port()}", "t", timeout=(1, 1))
    try:
        sender = make_sender(outbox, client, clock)
        assert sender.step() == 1.0
        assert sender.step() == 2.0
    finally:
        client.close()
    assert [e.id for e in outbox.peek(10)] == ids


def test_retry_resends_the_same_ids(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    answers = iter([(500, {"error": "boom"}), (200, {"accepted": 3, "duplicates": 0})])
    collector.responder = lambda r: next(answers)
    ids = fill(outbox, 3)
    sender = make_sender(outbox, transport, clock)
    assert sender.step() == 1.0
    assert sender.step() == 60.0
    assert posted_ids(collector) == [ids, ids]
    assert outbox.count() == 0 and sender.failures == 0


def test_auth_error_stops_sending_keeps_results_and_logs_once(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    collector.responder = lambda r: (401, {"error": "unknown token"})
    ids = fill(outbox, 2)
    sender = make_sender(outbox, transport, clock, backoff_cap=300.0)
    with caplog.at_level(logging.INFO, logger="fernwart.agent.sender"):
        assert [sender.step() for _ in range(4)] == [300.0] * 4  # a slow look again, not a busy loop
    assert [e.id for e in outbox.peek(10)] == ids and outbox.rejected() == []
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and "refused our credentials (HTTP 401: unknown token)" in errors[0].getMessage()
    assert sender.refused is not None and sender.refused.status == 401
    collector.responder = lambda r: (200, {"accepted": 2, "duplicates": 0})  # the collector re-admits us
    sender.step()
    assert outbox.count() == 0 and sender.refused is None and sender.failures == 0


def test_429_waits_per_retry_after_seconds_then_sends_the_same_batch(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    answers = iter([(429, {"error": "slow down"}, {"Retry-After": "17"}),
                    (429, {"error": "slow down"}, {"Retry-After": "86400"}),
                    (200, {"accepted": 3, "duplicates": 0})])
    collector.responder = lambda r: next(answers)
    ids = fill(outbox, 3)
    sender = make_sender(outbox, transport, clock)
    assert sender.step() == 17.0
    assert sender.step() == RETRY_AFTER_MAX  # bounded
    assert sender.step() == 60.0
    assert posted_ids(collector) == [ids, ids, ids]
    assert outbox.count() == 0 and outbox.rejected() == []


def test_429_with_an_http_date_waits_until_then_by_the_injected_clock(
    outbox: Outbox, collector: CollectorStub, clock: FakeClock,
) -> None:
    wall = T0 + timedelta(hours=1)
    http_date = format_datetime(wall + timedelta(seconds=42), usegmt=True)
    answers = iter([(429, {"error": "slow down"}, {"Retry-After": http_date}),
                    (429, {"error": "slow down"}, {"Retry-After": "not a date"})])
    collector.responder = lambda r: next(answers)
    fill(outbox, 1)
    client = CollectorLink(collector.url, "fwa_tok", timeout=(2, 5), now=lambda: wall)
    try:
        sender = make_sender(outbox, client, clock)
        assert sender.step() == 42.0
        assert sender.step() == 2.0  # no usable Retry-After: the ordinary backoff (second failure)
    finally:
        client.close()
    assert outbox.count() == 1


def test_422_isolates_the_bad_result_and_moves_it_to_rejected(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    def refuse_bad(request: Request) -> tuple[int, object]:
        if any(r["summary"] == "r2" for r in request.body["results"]):
            return 422, {"error": "results[2].metrics: bad"}
        return 200, {"accepted": len(request.body["results"]), "duplicates": 0}

    collector.responder = refuse_bad
    ids = fill(outbox, 4)
    sender = make_sender(outbox, transport, clock)
    assert sender.step() == 60.0
    assert outbox.count() == 0
    (rejected,) = outbox.rejected()
    assert (rejected.id, rejected.status, rejected.error) == (ids[2], 422, "results[2].metrics: bad")
    assert posted_ids(collector) == [ids, ids[:2], ids[2:], [ids[2]], [ids[3]]]
    assert sender.failures == 0


def test_413_splits_the_batch_in_halves(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    def limit(request: Request) -> tuple[int, object]:
        if len(request.body["results"]) > 1:
            return 413, {"error": "body over 1 MiB"}
        return 200, {"accepted": 1, "duplicates": 0}

    collector.responder = limit
    ids = fill(outbox, 6)
    sender = make_sender(outbox, transport, clock)
    while outbox.count():
        sender.step()
    assert outbox.rejected() == []
    delivered = [batch[0] for batch in posted_ids(collector) if len(batch) == 1]
    assert delivered == ids
    assert all(len(batch) <= 4 for batch in posted_ids(collector))
    assert sender._limit == 1  # the smaller batch size is remembered, not rediscovered every round


def test_heartbeat_only_when_nothing_else_was_posted_in_the_interval(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    sender = make_sender(outbox, transport, clock)
    assert sender.step() == 60.0  # at start: a heartbeat announces the agent
    assert [r.body["results"] for r in collector.reports()] == [[]]
    clock.advance(30)
    assert sender.step() == 30.0  # nothing due yet
    assert len(collector.reports()) == 1
    fill(outbox, 1)
    assert sender.step() == 60.0  # results went out at t=30; they count as the sign of life
    clock.advance(59)
    assert sender.step() == 1.0
    assert len(collector.reports()) == 2
    clock.advance(1)
    assert sender.step() == 60.0
    assert [len(r.body["results"]) for r in collector.reports()] == [0, 1, 0]


def test_failed_heartbeat_backs_off_and_retries(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    answers = iter([(503, {"error": "x"}), (200, {"accepted": 0, "duplicates": 0})])
    collector.responder = lambda r: next(answers)
    sender = make_sender(outbox, transport, clock)
    assert sender.step() == 1.0
    clock.advance(1)
    assert sender.step() == 60.0
    assert len(collector.reports()) == 2


def test_thread_sends_promptly_on_notify_and_stops(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub,
) -> None:
    sender = Sender(outbox, transport, host_id="host-1", heartbeat_interval=3600)
    sender.start()
    try:
        deadline = time.monotonic() + 5
        while not collector.reports() and time.monotonic() < deadline:
            time.sleep(0.01)
        (result_id,) = fill(outbox, 1)
        sender.notify()
        while outbox.count() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        sender.stop(timeout=5)
    assert sender._thread is not None and not sender._thread.is_alive()
    assert posted_ids(collector) == [[], [result_id]]


def test_refused_heartbeat_backs_off_instead_of_raising(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub, clock: FakeClock,
) -> None:
    collector.responder = lambda r: (422, {"error": "host_id: not a uuid"})
    sender = make_sender(outbox, transport, clock)
    assert [sender.step(), sender.step()] == [1.0, 2.0]
    assert len(collector.reports()) == 2


def test_thread_lingers_so_results_close_together_share_one_report(
    outbox: Outbox, transport: CollectorLink, collector: CollectorStub,
) -> None:
    sender = Sender(outbox, transport, host_id="host-1", heartbeat_interval=3600, linger=0.5)
    sender.start()
    try:
        deadline = time.monotonic() + 5
        while not collector.reports() and time.monotonic() < deadline:
            time.sleep(0.01)
        ids = []
        for _ in range(3):  # three checks finishing within the linger
            ids += fill(outbox, 1)
            sender.notify()
            time.sleep(0.05)
        while outbox.count() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        sender.stop(timeout=5)
    assert posted_ids(collector) == [[], ids]
