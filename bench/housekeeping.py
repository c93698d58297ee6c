#!/usr/bin/env python3
"""Housekeeping benchmark: how long downsampling and deleting old results takes, and ingest latency
while it runs.

In process, against a throwaway PostgreSQL database (or an SQLite file): --hosts hosts, --old raw
results observed 40 days before "now" (20 checks per host once a minute; on PostgreSQL in their daily
partitions, made ahead by a first housekeeping run), then ingest threads post 20-result batches through
the real ingest service while `housekeeping.run` downsamples the old rows and deletes them (SQLite:
batches; PostgreSQL: detach, downsample, drop). It prints figures; it asserts no timings.

    .venv/bin/python bench/housekeeping.py [--hosts 100] [--old 100000] [--threads 2]
                                           [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scratch import throwaway_postgres
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

from fernwart.checks.status import Status
from fernwart.collector import database
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.models import RESULTS, Host
from fernwart.collector.services import housekeeping
from fernwart.collector.services.ingest import IncomingResult, ingest, lock_host

Sessions = sessionmaker[Session]
BASE = datetime(2027, 6, 1, tzinfo=UTC)  # past every partition the migration makes
NOW = BASE + timedelta(days=40)
POLICY = TicketPolicy()


def seed(url: str, hosts: int, old: int) -> tuple[Engine, list[str]]:
    engine = database.make_engine(url)
    database.migrate(engine)
    sessions = database.session_factory(engine)
    # partitions from BASE to past NOW, so neither the old rows nor ingest use the default partition
    housekeeping.run(sessions, BASE, housekeeping.Retention(partitions_ahead=45))
    ids = [str(uuid.uuid4()) for _ in range(hosts)]
    with engine.begin() as conn:
        conn.execute(
            insert(Host),
            [
                {
                    "id": i,
                    "name": f"host{n:05d}",
                    "enrolled_at": BASE,
                    "last_seen_at": NOW,
                    "heartbeat_interval": 60,
                    "state": "up",
                    "os": "Linux",
                    "agent_version": "bench",
                    "criticality": "normal",
                }
                for n, i in enumerate(ids)
            ],
        )
    checks = hosts * 20
    rows = []
    for n in range(old):  # every check once a minute, as agents report
        at = BASE + timedelta(minutes=n // checks, seconds=n % 60)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "host_id": ids[n % hosts],
                "check_name": f"check-{n // hosts % 20:02d}",
                "status": 0,
                "summary": "ok",
                "long_output": "",
                "received_at": at,
                "observed_at": at,
                "duration": 0.01,
                "metrics": [{"label": "load1", "value": n % 7}, {"label": "pct", "value": n % 100}],
            }
        )
        if len(rows) == 10_000 or n == old - 1:
            with engine.begin() as conn:
                conn.execute(insert(RESULTS), rows)
            rows = []
    return engine, ids


class Ingest:
    """Threads posting one host's 20 results per transaction, recording each transaction's latency."""

    def __init__(self, sessions: Sessions, hosts: list[str], threads: int) -> None:
        self.sessions, self.hosts = sessions, hosts
        self.latencies: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(n,)) for n in range(threads)]

    def loop(self, n: int) -> None:
        rnd = random.Random(n)
        while not self.stop.is_set():
            results = [
                IncomingResult(
                    str(uuid.uuid4()),
                    f"check-{j:02d}",
                    "plugin",
                    Status.OK,
                    "ok",
                    "",
                    [{"label": "load1", "value": 1.0}],
                    NOW,
                    0.0,
                    60,
                    3,
                )
                for j in range(20)
            ]
            started = time.perf_counter()
            with self.sessions() as db:
                host = lock_host(db, rnd.choice(self.hosts))
                assert host is not None
                ingest(db, host, results, 60, NOW, POLICY)
                db.commit()
            self.latencies.append((started, time.perf_counter() - started))

    def between(self, start: float, end: float) -> list[float]:
        return [s for t, s in self.latencies if start <= t <= end]


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def line(label: str, values: list[float]) -> str:
    return (
        f"{label}: n={len(values)} p50 {pct(values, 50) * 1000:.1f} ms p99 {pct(values, 99) * 1000:.1f} ms "
        f"max {max(values, default=float('nan')) * 1000:.1f} ms"
    )


def bench(label: str, url: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    engine, ids = seed(url, args.hosts, args.old)
    sessions = database.session_factory(engine)
    print(
        f"{label}, {args.hosts} hosts, {args.old} old results "
        f"(seeded in {time.perf_counter() - started:.1f} s), "
        f"{args.threads} ingest threads of 20 results per transaction"
    )
    load = Ingest(sessions, ids, args.threads)
    for t in load.threads:
        t.start()
    try:
        time.sleep(3.0)
        began = time.perf_counter()
        outcome = housekeeping.run(sessions, NOW, housekeeping.Retention())
        ended = time.perf_counter()
        time.sleep(0.5)
    finally:
        load.stop.set()
        for t in load.threads:
            t.join()
    assert outcome is not None
    print(
        f"  housekeeping: {ended - began:.2f} s, {outcome.results_downsampled} results downsampled "
        f"({outcome.results_downsampled / (ended - began):.0f}/s), partitions dropped "
        f"{len(outcome.partitions_dropped)}"
    )
    print("  ingest " + line("before", load.between(began - 3.0, began)))
    print("  ingest " + line("during", load.between(began, ended)))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--old", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        home = Path(tempfile.mkdtemp(prefix="fernwart-bench-housekeeping-"))
        bench("sqlite", f"sqlite:///{home / 'fernwart.sqlite'}", args)
    if args.only != "sqlite":
        with throwaway_postgres() as url:
            bench("postgresql", url, args)


if __name__ == "__main__":
    main()
