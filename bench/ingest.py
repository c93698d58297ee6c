#!/usr/bin/env python3
"""Ingest benchmark: simulated agents post result batches over HTTP to a real collector process.

For each database (SQLite file, PostgreSQL throwaway database) and each host count (--hosts, default
100, 1,000 and 10,000) it seeds a fresh database with the hosts and their 20 check states each (as after
a day of running), starts `fernwart-collector serve`, and runs:

1. throughput, once per --batch size: every connection posts pre-built batches back to back (closed loop);
2. fixed rate (default 3,300 results/s = 10,000 hosts x 20 checks a minute) in --latency-batch requests
   (default 20, one host's checks): open loop. Request i is due at start + i / rate and is sent then on a
   free connection, whether or not earlier requests were answered; its latency counts from when it was
   due, so a stall shows as the delay of every send it held up (no coordinated omission). Sends that
   started more than 1 ms late are counted with their largest delay.

Results are fully processed (stored, state machine, state changes, tickets): about 2 % are failures, so
tickets open and resolve during the run. The load generator is asyncio over raw keep-alive HTTP/1.1 with
pre-serialised requests, in --procs processes; its CPU is printed. Server CPU per result is read from
/proc: the collector's process tree and (PostgreSQL) the database's backends.

With --icinga, Debian's icinga2 is started with the same host count (20 passive services per host) and
driven through its REST API (`process-check-result`, one result per request, as it takes no batches) with
the same load generator: its throughput and fixed-rate figures print beside ours.

    .venv/bin/python bench/ingest.py [--seconds 8] [--batch 200] [--latency-batch 20] [--rate 3300]
        [--hosts 100,1000,10000] [--procs 2] [--connections 4] [--workers 2]
        [--only sqlite|postgresql|icinga] [--icinga]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("FERNWART_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CHECKS = 20
MAX_BODIES = 12_000  # per process and phase: bounds the load generator's memory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the load generator ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    tls: bool = False


def fernwart_requests(
    hosts: list[tuple[str, str]], batch: int, count: int, seed: int, port: int
) -> list[bytes]:
    """Return `count` HTTP requests of `batch` results each, cycling over `hosts` (id, token).

    Observation times increase by a microsecond per result, so every result is newer than the last one
    of its check (none is a late replay that only lands in history).
    """
    rnd = random.Random(seed)
    base = datetime.now(UTC) - timedelta(minutes=50)
    out = []
    n = 0
    for i in range(count):
        host_id, token = hosts[i % len(hosts)]
        results = []
        for j in range(batch):
            check = f"check-{(i * batch + j) % CHECKS:02d}"
            status = 2 if rnd.random() < 0.02 else 0
            n += 1
            results.append(
                {
                    "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                    "check": check,
                    "type": "plugin",
                    "status": status,
                    "summary": f"{check} {'CRITICAL' if status else 'OK'} - simulated",
                    "max_attempts": 1,
                    "observed_at": (base + timedelta(microseconds=n)).isoformat(),
                    "duration": 0.01,
                    "metrics": [
                        {"label": "value", "value": round(rnd.random() * 100, 3), "uom": "%",
                         "warn": "80", "crit": "90", "min": 0, "max": 100}
                    ],
                }
            )
        body = json.dumps(
            {"host_id": host_id, "heartbeat_interval": 60, "results": results}, separators=(",", ":")
        ).encode()
        head = (
            f"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


def icinga_requests(hosts: list[str], count: int, seed: int, port: int, password: str) -> list[bytes]:
    """Return `count` process-check-result requests (one result each) cycling over hosts' services."""
    rnd = random.Random(seed)
    auth = base64.b64encode(f"bench:{password}".encode()).decode()
    out = []
    for i in range(count):
        host = hosts[i % len(hosts)]
        check = f"check-{i % CHECKS:02d}"
        status = 2 if rnd.random() < 0.02 else 0
        body = json.dumps(
            {
                "type": "Service",
                "service": f"{host}!{check}",
                "exit_status": status,
                "plugin_output": f"{check} {'CRITICAL' if status else 'OK'} - simulated",
                "performance_data": [f"value={rnd.random() * 100:.3f}%;80;90;0;100"],
                "check_source": "bench",
            },
            separators=(",", ":"),
        ).encode()
        head = (
            f"POST /v1/actions/process-check-result HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Basic {auth}\r\nAccept: application/json\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        context = None
        if self.target.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        target = self.target
        self.reader, self.writer = await asyncio.open_connection(target.host, target.port, ssl=context)

    async def send(self, request: bytes) -> int:
        """Send `request`, read the whole answer and return its status code (0: connection failed)."""
        for attempt in range(2):
            try:
                if self.writer is None:
                    await self.connect()
                assert self.reader is not None and self.writer is not None
                self.writer.write(request)
                head = await self.reader.readuntil(b"\r\n\r\n")
                length = _LENGTH.search(head)
                if length:
                    await self.reader.readexactly(int(length[1]))
                if b"\r\nconnection: close" in head.lower():
                    self.close()
                return int(head[9:12])
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                self.close()
                if attempt:
                    return 0
        return 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _drive(
    target: Target,
    requests_: list[bytes],
    seconds: float,
    rate: float | None,
    connections: int,
    start: Callable[[], None],
) -> dict[str, Any]:
    latencies: list[float] = []
    late: list[float] = []
    errors = 0
    position = 0
    pool = [Connection(target) for _ in range(connections)]
    for c in pool:  # connected before the clock starts: no handshake inside the measurement
        await c.connect()
    start()
    begin = time.perf_counter()
    stop = begin + seconds

    async def worker(conn: Connection) -> None:
        nonlocal position, errors
        loop_time = time.perf_counter
        while True:
            index = position
            if index >= len(requests_):
                break
            position += 1
            due = begin + index / rate if rate else loop_time()
            if due >= stop:
                break
            wait = due - loop_time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif rate and wait < -0.001:
                late.append(-wait)
            status = await conn.send(requests_[index])
            latencies.append(loop_time() - due)
            if status != 200:
                errors += 1
            if loop_time() >= stop:
                break
        conn.close()

    await asyncio.gather(*(worker(c) for c in pool))
    return {
        "latencies": latencies,
        "late": late,
        "errors": errors,
        "elapsed": time.perf_counter() - begin,
        "exhausted": position >= len(requests_),
    }


def load_process(
    target: Target,
    build: Callable[[], list[bytes]],
    seconds: float,
    rate: float | None,
    connections: int,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """Build this process's requests, wait for the start signal, drive them; report figures and CPU."""
    requests_ = build()
    before = resource.getrusage(resource.RUSAGE_SELF)

    def start() -> None:  # blocks the event loop on purpose: nothing runs before the start signal
        nonlocal before
        ready.put(True)
        go.wait()
        before = resource.getrusage(resource.RUSAGE_SELF)

    figures = asyncio.run(_drive(target, requests_, seconds, rate, connections, start))
    after = resource.getrusage(resource.RUSAGE_SELF)
    figures["cpu"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    out.put(figures)


@dataclass(frozen=True)
class Phase:
    results_per_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    late: int
    late_max_ms: float
    loadgen_cores: float
    server_ms_per_result: float
    db_ms_per_result: float | None
    exhausted: bool


def run_phase(
    target: Target,
    builders: list[Callable[[], list[bytes]]],
    seconds: float,
    batch: int,
    rate_results: float | None,
    connections: int,
    server_cpu: Callable[[], float],
    db_cpu: Callable[[], float] | None,
) -> Phase:
    """Run one load phase over one process per builder and return its figures."""
    ctx = mp.get_context("fork")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    rate = rate_results / batch / len(builders) if rate_results else None
    workers = [
        ctx.Process(target=load_process, args=(target, b, seconds, rate, connections, ready, go, out))
        for b in builders
    ]
    for w in workers:
        w.start()
    for _ in workers:
        ready.get()
    cpu0, db0 = server_cpu(), db_cpu() if db_cpu else 0.0
    go.set()
    reports = [out.get() for _ in workers]
    cpu1, db1 = server_cpu(), db_cpu() if db_cpu else 0.0
    for w in workers:
        w.join()
    lat = sorted(x for r in reports for x in r["latencies"])
    late = [x for r in reports for x in r["late"]]
    errors = sum(r["errors"] for r in reports)
    elapsed = max(r["elapsed"] for r in reports)
    results = (len(lat) - errors) * batch
    per_result = 1000 / results if results else float("nan")
    return Phase(
        results_per_s=results / elapsed,
        requests_per_s=len(lat) / elapsed,
        p50_ms=lat[len(lat) // 2] * 1000 if lat else float("nan"),
        p99_ms=lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan"),
        errors=errors,
        late=len(late),
        late_max_ms=max(late, default=0.0) * 1000,
        loadgen_cores=sum(r["cpu"] for r in reports) / elapsed,
        server_ms_per_result=(cpu1 - cpu0) * per_result,
        db_ms_per_result=(db1 - db0) * per_result if db_cpu else None,
        exhausted=any(r["exhausted"] for r in reports),
    )


def show(label: str, what: str, p: Phase) -> None:
    db = f", database {p.db_ms_per_result:.3f}" if p.db_ms_per_result is not None else ""
    late = f", {p.late} sends late (max {p.late_max_ms:.0f} ms)" if p.late else ""
    short = " (load generator ran out of requests: raise MAX_BODIES)" if p.exhausted else ""
    print(
        f"{label:<24} {what:<22} {p.results_per_s:8.0f} results/s ({p.requests_per_s:6.0f} req/s), "
        f"p50 {p.p50_ms:6.1f} ms, p99 {p.p99_ms:7.1f} ms; server CPU {p.server_ms_per_result:.3f} ms/result"
        f"{db}; errors {p.errors}{late}; load generator {p.loadgen_cores:.2f} cores{short}",
        flush=True,
    )


# --- CPU from /proc ----------------------------------------------------------------------------------


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_tree(pid: int) -> float:
    """Return CPU seconds of `pid` and its descendants (uvicorn workers, icinga2's daemon)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, grown = {pid}, True
    while grown:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        grown = bool(more)
        tree |= more
    total = 0.0
    for p in tree:
        try:
            total += _cpu_of(p)
        except OSError:
            continue
    return total


# --- Fernwart ----------------------------------------------------------------------------------------


def seed_fernwart(url: str, count: int) -> list[tuple[str, str]]:
    """Migrate a fresh database and insert `count` hosts (up, seen now) with 20 OK check states each."""
    from sqlalchemy import insert

    from fernwart.collector import database
    from fernwart.collector.models import CHECK_STATES, Host
    from fernwart.collector.services.auth import new_token

    engine = database.make_engine(url)
    database.migrate(engine)
    now = datetime.now(UTC)
    earlier = now - timedelta(hours=1)
    hosts, host_rows, state_rows = [], [], []
    for n in range(count):
        host_id = str(uuid.uuid4())
        token, digest = new_token("fwa_")
        hosts.append((host_id, token))
        host_rows.append(
            {"id": host_id, "name": f"bench-{n:05d}", "agent_token_hash": digest, "enrolled_at": earlier,
             "last_seen_at": now, "heartbeat_interval": 60, "state": "up", "os": "Linux",
             "agent_version": "bench", "criticality": "normal", "token_issued_at": earlier}
        )
        for c in ("host", *(f"check-{j:02d}" for j in range(CHECKS))):
            state_rows.append(
                {"host_id": host_id, "check_name": c, "check_type": "host" if c == "host" else "plugin",
                 "status": 0, "state_type": "HARD", "attempt": 1, "max_attempts": 1, "hard_status": 0,
                 "interval": 60, "last_result_id": None, "last_observed_at": earlier, "last_summary": "OK",
                 "last_change_at": earlier, "last_hard_change_at": earlier, "flap_history": "0" * 21,
                 "flapping": False, "flap_percent": 0.0}
            )
    with engine.begin() as conn:
        for i in range(0, len(host_rows), 2000):
            conn.execute(insert(Host), host_rows[i : i + 2000])
        for i in range(0, len(state_rows), 5000):
            conn.execute(insert(CHECK_STATES), state_rows[i : i + 5000])
    engine.dispose()
    return hosts


def _split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[k::parts] for k in range(parts)]


def bench_fernwart(label: str, url: str, hosts_count: int, args: argparse.Namespace,
                   db_cpu: Callable[[], float] | None) -> None:
    home = Path(tempfile.mkdtemp(prefix="fernwart-bench-"))
    env = {**os.environ, "FERNWART_HOME": str(home), "FERNWART_DATABASE_URL": url}
    hosts = seed_fernwart(url, hosts_count)
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "fernwart-collector"), "serve", "--port", str(port), "--log-level", "warning",
         "--workers", str(args.workers)],
        env=env,
    )
    target = Target("127.0.0.1", port)
    try:
        _wait_http(port)
        tag = f"{label} {hosts_count} hosts"
        groups = _split(hosts, args.procs)
        for seed, batch in enumerate(args.batch):
            count = min(MAX_BODIES, int(args.seconds * args.max_rate / batch / args.procs) + 20)
            builders = [
                _fernwart_builder(g, batch, count, seed * 100 + k, port) for k, g in enumerate(groups)
            ]
            phase = run_phase(target, builders, args.seconds, batch, None, args.connections,
                              lambda: cpu_tree(server.pid), db_cpu)
            show(tag, f"{batch}/request, closed", phase)
        lb = args.latency_batch
        count = int(args.seconds * args.rate / lb / args.procs) + 20
        builders = [_fernwart_builder(g, lb, count, 1000 + k, port) for k, g in enumerate(groups)]
        phase = run_phase(target, builders, args.seconds, lb, args.rate, args.open_connections,
                          lambda: cpu_tree(server.pid), db_cpu)
        show(tag, f"{args.rate:.0f}/s in {lb}s, open", phase)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def _fernwart_builder(
    hosts: list[tuple[str, str]], batch: int, count: int, seed: int, port: int
) -> Callable[[], list[bytes]]:
    def build() -> list[bytes]:
        return fernwart_requests(hosts, batch, count, seed, port)

    return build


def _wait_http(port: int, tls: bool = False, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout:.0f} s")


def bench_postgresql(hosts_count: int, args: argparse.Namespace) -> None:
    from sqlalchemy import create_engine, text

    name = f"fernwart_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    seen: dict[int, float] = {}  # the last CPU time read of each backend, ended ones included

    def backends_cpu() -> float:
        with admin.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            for (pid,) in pids:
                try:
                    seen[pid] = _cpu_of(pid)
                except OSError:
                    continue
        return sum(seen.values())

    try:
        bench_fernwart("postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", hosts_count, args,
                       backends_cpu)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- Icinga 2 ----------------------------------------------------------------------------------------


def bench_icinga(hosts_count: int, args: argparse.Namespace) -> None:
    """Start Debian's icinga2 with `hosts_count` hosts x 20 passive services and drive its REST API."""
    binary = shutil.which("icinga2") or "/usr/sbin/icinga2"
    if not Path(binary).exists():
        print(f"icinga2 {hosts_count} hosts: not installed (apt-get install icinga2); skipped", flush=True)
        return
    from icinga import start_icinga  # bench/icinga.py, beside this script

    port = free_port()
    password = uuid.uuid4().hex
    names = [f"bench-{n:05d}" for n in range(hosts_count)]
    daemon, home = start_icinga(binary, port, password, names, CHECKS)
    target = Target("127.0.0.1", port, tls=True)
    try:
        tag = f"icinga2 {hosts_count} hosts"
        groups = _split(names, args.procs)
        count = min(MAX_BODIES * 4, int(args.seconds * 20000 / args.procs) + 20)
        builders = [_icinga_builder(g, count, 7 + k, port, password) for k, g in enumerate(groups)]
        phase = run_phase(target, builders, args.seconds, 1, None, args.connections,
                          lambda: cpu_tree(daemon.pid), None)
        show(tag, "1/request, closed", phase)
        count = int(args.seconds * args.rate / args.procs) + 20
        builders = [_icinga_builder(g, count, 70 + k, port, password) for k, g in enumerate(groups)]
        phase = run_phase(target, builders, args.seconds, 1, args.rate, args.open_connections,
                          lambda: cpu_tree(daemon.pid), None)
        show(tag, f"{args.rate:.0f}/s in 1s, open", phase)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def _icinga_builder(
    hosts: list[str], count: int, seed: int, port: int, password: str
) -> Callable[[], list[bytes]]:
    def build() -> list[bytes]:
        return icinga_requests(hosts, count, seed, port, password)

    return build


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8, help="seconds per phase")
    parser.add_argument(
        "--batch", default="200", help="results per request in the throughput phases, e.g. 1,20,200"
    )
    parser.add_argument(
        "--latency-batch", type=int, default=20,
        help="results per request in the fixed-rate phase (an agent's 20 checks a minute)",
    )
    parser.add_argument("--rate", type=float, default=3300, help="results/s of the fixed-rate phase")
    parser.add_argument("--hosts", default="100,1000,10000", help="host counts, comma-separated")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=4, help="connections per process, closed loop")
    parser.add_argument("--open-connections", type=int, default=32,
                        help="connections per process available to the open-loop phase")
    parser.add_argument("--max-rate", type=float, default=40000, help="results/s the requests are built for")
    parser.add_argument("--only", choices=["sqlite", "postgresql", "icinga"])
    parser.add_argument("--icinga", action="store_true", help="also run Icinga 2 (Debian's icinga2)")
    parser.add_argument("--workers", type=int, default=2, help="collector worker processes")
    args = parser.parse_args()
    args.batch = [int(b) for b in args.batch.split(",")]
    counts = [int(h) for h in args.hosts.split(",")]
    load = os.getloadavg()
    print(
        f"ingest benchmark: {os.cpu_count()} CPUs, load average {load[0]:.2f}/{load[1]:.2f}, "
        f"{args.workers} collector workers, {args.procs} load processes x {args.connections} connections "
        f"(open loop: up to {args.open_connections} each), {args.seconds:.0f} s per phase",
        flush=True,
    )
    for hosts_count in counts:
        if args.only in (None, "sqlite"):
            home = Path(tempfile.mkdtemp(prefix="fernwart-bench-sqlite-"))
            try:
                bench_fernwart("sqlite", f"sqlite:///{home / 'fernwart.sqlite'}", hosts_count, args, None)
            finally:
                shutil.rmtree(home, ignore_errors=True)
        if args.only in (None, "postgresql"):
            bench_postgresql(hosts_count, args)
        if args.icinga or args.only == "icinga":
            bench_icinga(hosts_count, args)


if __name__ == "__main__":
    main()
