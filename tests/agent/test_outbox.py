from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from fernwart.agent.outbox import Outbox, Queued
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from tests.agent.helpers import T0, stamped
from tests.support import REPO


def put(box: Outbox, summary: str = "fine", check: str = "cpu", seconds: int = 0) -> str:
    return box.put(
        stamped(Status.WARNING, summary, T0 + timedelta(seconds=seconds)),
        check=check, check_type="cpu", interval=60, max_attempts=3,
    )


def test_put_stores_the_protocol_item_with_its_own_time(outbox: Outbox) -> None:
    result_id = put(outbox, "load high", seconds=5)
    (entry,) = outbox.peek(10)
    assert uuid.UUID(result_id).version == 7
    assert entry.id == result_id and entry.check == "cpu"
    assert entry.payload == {
        "id": result_id, "check": "cpu", "type": "cpu", "status": 1, "summary": "load high",
        "long_output": "", "metrics": [], "observed_at": "2026-11-22T10:00:05Z", "duration": 0.01,
        "interval": 60, "max_attempts": 3,
    }


def test_peek_is_oldest_first_and_delete_removes_only_given_ids(outbox: Outbox) -> None:
    ids = [put(outbox, f"r{i}") for i in range(5)]
    assert [e.id for e in outbox.peek(3)] == ids[:3]
    assert outbox.peek(0) == []
    assert outbox.delete([ids[0], ids[2], "not-there"]) == 2
    assert [e.id for e in outbox.peek(10)] == [ids[1], ids[3], ids[4]]
    assert outbox.count() == 3


def test_reject_moves_rows_aside_with_the_reason(outbox: Outbox) -> None:
    keep, bad = put(outbox, "ok"), put(outbox, "bad")
    assert outbox.reject([bad], 422, "results[0].summary: too long") == 1
    assert [e.id for e in outbox.peek(10)] == [keep]
    (rejected,) = outbox.rejected()
    assert (rejected.id, rejected.status, rejected.error) == (bad, 422, "results[0].summary: too long")
    assert rejected.payload["summary"] == "bad"


def test_unstamped_result_is_refused(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="no observed_at"):
        outbox.put(CheckResult(Status.OK, "x"), check="a", check_type="t", interval=1, max_attempts=1)
    assert outbox.count() == 0


def test_put_many_stores_all_in_order_or_nothing(outbox: Outbox) -> None:
    good = [Queued(stamped(summary=f"r{i}"), f"c{i}", "t", 60, 3) for i in range(3)]
    with pytest.raises(ValueError, match="no observed_at"):
        outbox.put_many([*good, Queued(CheckResult(Status.OK, "x"), "bad", "t", 60, 3)])
    assert outbox.count() == 0
    ids = outbox.put_many(good)
    assert [(e.id, e.check, e.payload["summary"]) for e in outbox.peek(10)] == [
        (ids[0], "c0", "r0"), (ids[1], "c1", "r1"), (ids[2], "c2", "r2"),
    ]
    assert outbox.put_many([]) == []


def test_payload_stays_within_protocol_limits(outbox: Outbox) -> None:
    metrics = tuple(PerfDatum(f"m{i}", math.nan if i == 0 else float(i), max=math.inf) for i in range(250))
    outbox.put(
        CheckResult(Status.OK, "s" * 5000, metrics, "l" * 70000).stamped(T0, math.inf),
        check="a", check_type="t", interval=1, max_attempts=1,
    )
    payload = outbox.peek(1)[0].payload
    assert len(payload["summary"]) == 4096 and payload["summary"].endswith("[truncated]")
    assert len(payload["long_output"]) == 65536
    assert len(payload["metrics"]) == 200
    assert payload["long_output"].startswith("(250 metrics; only the first 200 were sent)\nlll")
    assert payload["metrics"][0]["value"] is None and payload["metrics"][1]["max"] is None
    assert payload["duration"] == 0.0


def test_wal_and_full_sync(outbox: Outbox) -> None:
    db = sqlite3.connect(outbox.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_rows_survive_reopening(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as box:
        ids = [put(box, str(i)) for i in range(3)]
    with Outbox(tmp_path / "o.sqlite") as box:
        assert [e.id for e in box.peek(10)] == ids


def test_concurrent_puts_and_deletes(outbox: Outbox) -> None:
    def producer(n: int) -> None:
        for i in range(50):
            put(outbox, f"{n}-{i}")

    deleted: list[str] = []
    stop = threading.Event()

    def consumer() -> None:
        while not stop.is_set():
            batch = outbox.peek(7)
            outbox.delete(e.id for e in batch)
            deleted.extend(e.id for e in batch)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    eater = threading.Thread(target=consumer)
    eater.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    eater.join()
    remaining = [e.id for e in outbox.peek(1000)]
    assert len(deleted) + len(remaining) == 200
    assert len(set(deleted) | set(remaining)) == 200


PRODUCER = """
import sys
from fernwart.agent.outbox import Outbox, Queued
from tests.agent.helpers import stamped
box = Outbox(sys.argv[1])
i = 0
while True:
    rid = box.put(stamped(summary=str(i)), check="c", check_type="t", interval=1, max_attempts=1)
    print(rid, flush=True)
    i += 1
"""


def test_put_is_durable_across_kill_9(tmp_path: Path) -> None:
    """Starts a real subprocess that puts results until it is SIGKILLed; every acknowledged put is there."""
    path = tmp_path / "outbox.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(40)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with Outbox(path) as box:
        stored = {e.id for e in box.peek(100000)}
    assert all(acknowledged) and set(acknowledged) <= stored


def test_metric_fields_stay_within_protocol_limits(outbox: Outbox) -> None:
    metrics = (PerfDatum("x" * 300, 1.0, "", "1:" + "9" * 70, "~:" + "9" * 70), PerfDatum("", 2.0))
    outbox.put(CheckResult(Status.OK, "s", metrics).stamped(T0, 0.1),
               check="a", check_type="t", interval=1, max_attempts=1)
    long, empty = outbox.peek(1)[0].payload["metrics"]
    assert len(long["label"]) == 200 and long["label"].endswith("[truncated]")
    assert len(long["warn"]) == 64 and len(long["crit"]) == 64
    assert empty["label"] == "unnamed"


def test_trimmed_payloads_pass_the_collectors_schema(outbox: Outbox) -> None:
    schemas = pytest.importorskip("fernwart.collector.api.schemas")
    metrics = tuple(PerfDatum("m" * 250 + str(i), float(i), "", "9" * 80) for i in range(300))
    outbox.put(CheckResult(Status.CRITICAL, "s" * 5000, metrics, "l" * 70000).stamped(T0, 0.5),
               check="a", check_type="t", interval=60, max_attempts=3)
    schemas.ResultIn.model_validate(outbox.peek(1)[0].payload)  # raises when a limit is broken


def test_result_ids_are_uuid7_ordered_by_time() -> None:
    from fernwart.agent.outbox import time_ordered_id

    first = time_ordered_id(T0, bytes(10))
    assert first == "01a202b2-c500-7000-8000-000000000000"  # 2026-11-22T10:00Z in ms, then version/variant
    later = [time_ordered_id(T0 + timedelta(milliseconds=ms)) for ms in (1, 2, 1000, 86_400_000)]
    assert sorted(later) == later and all(uuid.UUID(i).version == 7 for i in later)
    assert uuid.UUID(time_ordered_id(T0, b"\xff" * 10)).variant == uuid.RFC_4122
