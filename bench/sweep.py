#!/usr/bin/env python3
"""Staleness-sweep benchmark: sweep duration and ingest latency during a sweep, at fleet size.

In process, against a throwaway PostgreSQL database (or an SQLite file): it inserts --hosts hosts, then
ingest threads post 20-result batches for random hosts through the real ingest service (row lock,
results, state machine, commit) while the sweep runs through `jobs.run_sweep`. Phases:

1. quiet: no host is stale; the sweep only finds that out;
2. mass silence: all hosts but those the ingest threads keep alive fall silent at once (one incident);
3. silence without the mass rule: every silent host gets its own ticket (bounded batches).

It prints figures; it asserts no timings.

    .venv/bin/python bench/sweep.py [--hosts 10000] [--threads 2] [--only sqlite|postgresql] [--mass-only]
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
from sqlalchemy import ColumnElement, Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from fernwart.checks.status import Status
from fernwart.collector import database, jobs
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.models import CHECK_STATES, Host, MetaValue, Ticket
from fernwart.collector.services import staleness
from fernwart.collector.services.ingest import IncomingResult, ingest, lock_host

Sessions = sessionmaker[Session]
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=10)
POLICY = TicketPolicy()


def seed(engine_url: str, hosts: int) -> tuple[Engine, list[str]]:
    """Create the schema and `hosts` hosts seen at T0 (heartbeat 60 s: stale after 180 s)."""
    engine = database.make_engine(engine_url)
    database.migrate(engine)
    ids = [str(uuid.uuid4()) for _ in range(hosts)]
    rows = [
        {
            "id": i,
            "name": f"host{n:05d}",
            "enrolled_at": T0,
            "last_seen_at": T0,
            "heartbeat_interval": 60,
            "state": "up",
            "os": "Linux",
            "agent_version": "bench",
            "criticality": "normal",
        }
        for n, i in enumerate(ids)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Host), rows)
    return engine, ids


class Ingest:
    """Threads posting one host's 20 results per transaction, recording each transaction's latency."""

    def __init__(self, sessions: Sessions, hosts: list[str], clock: list[datetime], threads: int) -> None:
        self.sessions, self.hosts, self.clock = sessions, hosts, clock
        self.latencies: list[tuple[float, float]] = []  # (start, seconds)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(n,)) for n in range(threads)]

    def loop(self, n: int) -> None:
        rnd = random.Random(n)
        while not self.stop.is_set():
            host_id = rnd.choice(self.hosts)
            now = self.clock[0]
            results = [
                IncomingResult(
                    str(uuid.uuid4()), f"check-{j:02d}", "plugin", Status.OK, "ok", "", [], now, 0.0, 60, 3
                )
                for j in range(20)
            ]
            started = time.perf_counter()
            with self.sessions() as db:
                host = lock_host(db, host_id)
                assert host is not None
                ingest(db, host, results, 60, now, POLICY)
                db.commit()
            self.latencies.append((started, time.perf_counter() - started))

    def __enter__(self) -> Ingest:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def between(self, start: float, end: float) -> list[float]:
        return [s for t, s in self.latencies if start <= t <= end]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]
    )


def prime(sessions: Sessions, at: datetime) -> None:
    """Make `at` a regular tick: sweeping resumed long ago and the last tick was one interval before."""
    with sessions() as db:
        db.execute(delete(MetaValue).where(MetaValue.key.in_((staleness.LAST_TICK, staleness.RESUMED_AT))))
        db.add(MetaValue(key=staleness.LAST_TICK, value=(at - INTERVAL).isoformat()))
        db.add(MetaValue(key=staleness.RESUMED_AT, value=(T0 - timedelta(hours=1)).isoformat()))
        db.commit()


def phase(
    label: str, sessions: Sessions, ids: list[str], at: datetime, rule: staleness.SilenceRule, threads: int
) -> None:
    alive = ids[: max(1, len(ids) // 20)]  # 5 % keep reporting during the sweep
    clock = [at]
    prime(sessions, at)
    with Ingest(sessions, alive, clock, threads) as load:
        time.sleep(2.0)
        base_end = time.perf_counter()
        runs, started = 0, time.perf_counter()
        marked_before = _count(sessions, Host.state == "unreachable")
        while True:
            jobs.run_sweep(sessions, clock[0], INTERVAL, POLICY, rule=rule)
            runs += 1
            now_marked = _count(sessions, Host.state == "unreachable")
            if now_marked == marked_before:
                break
            marked_before = now_marked
            clock[0] += INTERVAL
        ended = time.perf_counter()
        time.sleep(0.5)
    during = load.between(started, ended)
    before = load.between(base_end - 2.0, base_end)
    print(
        f"  {label}: {runs} sweep runs in {ended - started:.2f} s; unreachable {marked_before}, tickets "
        f"{_tickets(sessions)}; ingest (20 results/txn) before: n={len(before)} "
        f"p50 {pct(before, 50) * 1000:.1f} ms p99 {pct(before, 99) * 1000:.1f} ms; during: n={len(during)} "
        f"p50 {pct(during, 50) * 1000:.1f} ms p99 {pct(during, 99) * 1000:.1f} ms max "
        f"{max(during, default=float('nan')) * 1000:.1f} ms"
    )


def _count(sessions: Sessions, where: ColumnElement[bool]) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Host).where(where)) or 0)


def _tickets(sessions: Sessions) -> int:
    with sessions() as db:
        return int(
            db.scalar(select(func.count()).select_from(Ticket).where(Ticket.open_key.is_not(None))) or 0
        )


def bench(label: str, url: str, args: argparse.Namespace) -> None:
    engine, ids = seed(url, args.hosts)
    sessions = database.session_factory(engine)
    print(f"{label}, {args.hosts} hosts, {args.threads} ingest threads")
    prime(sessions, T0 + timedelta(seconds=60))
    started = time.perf_counter()
    jobs.run_sweep(sessions, T0 + timedelta(seconds=60), INTERVAL, POLICY)
    print(f"  quiet sweep (nothing stale): {(time.perf_counter() - started) * 1000:.1f} ms")
    phase(
        "mass silence (one incident)",
        sessions,
        ids,
        T0 + timedelta(seconds=200),
        staleness.SilenceRule(),
        args.threads,
    )
    if args.mass_only:
        engine.dispose()
        return
    with engine.begin() as conn:  # everyone back, tickets gone
        conn.execute(update(Host).values(state="up", last_seen_at=T0 + timedelta(seconds=300)))
        conn.execute(update(Ticket).values(open_key=None, state="closed"))
        conn.execute(delete(CHECK_STATES).where(CHECK_STATES.c.check_name == "host"))
    phase(
        "silence, one ticket per host",
        sessions,
        ids,
        T0 + timedelta(seconds=500),
        staleness.SilenceRule(min_hosts=10**9),
        args.threads,
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--mass-only", action="store_true", help="skip the per-host-ticket phase")
    args = parser.parse_args()
    if args.only != "postgresql":
        home = Path(tempfile.mkdtemp(prefix="fernwart-bench-sweep-"))
        bench("sqlite", f"sqlite:///{home / 'fernwart.sqlite'}", args)
    if args.only != "sqlite":
        with throwaway_postgres() as url:
            bench("postgresql", url, args)


if __name__ == "__main__":
    main()
