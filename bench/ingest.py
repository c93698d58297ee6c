#!/usr/bin/env python3
"""Ingest benchmark: simulated agents post result batches over HTTP to a real collector process.

For each database (SQLite file, then a throwaway PostgreSQL database) it starts `fernwart-collector
serve`, enrolls the simulated hosts through the API, and runs two phases:

1. throughput: every load process posts pre-built batches back to back for --seconds;
2. latency at a fixed rate (default 3,300 results/s = 10,000 hosts x 20 checks a minute, so each request
   carries one host's 20 results).

Results are fully processed by the collector (stored, state machine, state changes, tickets): about 2% of
results are failures, so tickets open and resolve during the run. The load generator runs in several
processes with pre-serialised bodies so it is not the bottleneck; its own CPU time is printed.

    .venv/bin/python bench/ingest.py [--seconds 20] [--batch 200] [--procs 8] [--workers 2]
                                     [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("FERNWART_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_bodies(hosts: list[tuple[str, str]], batch: int, count: int, seed: int) -> list[tuple[str, bytes]]:
    """Return `count` (agent token, JSON body) pairs cycling over `hosts`, each with fresh result ids."""
    rnd = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=1)
    bodies = []
    for i in range(count):
        host_id, token = hosts[i % len(hosts)]
        at = start + timedelta(seconds=i)
        results = []
        for j in range(batch):
            check = f"check-{j % 20:02d}"
            status = 2 if rnd.random() < 0.02 else 0
            results.append(
                {
                    "id": str(uuid.uuid4()),
                    "check": check,
                    "type": "plugin",
                    "status": status,
                    "summary": f"{check} {'CRITICAL' if status else 'OK'} - simulated",
                    "max_attempts": 1,
                    "observed_at": (at + timedelta(milliseconds=j)).isoformat(),
                    "duration": 0.01,
                    "metrics": [
                        {
                            "label": "value",
                            "value": rnd.random() * 100,
                            "uom": "%",
                            "warn": "80",
                            "crit": "90",
                            "min": 0,
                            "max": 100,
                        }
                    ],
                }
            )
        body = {"host_id": host_id, "heartbeat_interval": 60, "results": results}
        bodies.append((token, json.dumps(body).encode()))
    return bodies


def load_process(
    url: str, bodies: list[tuple[str, bytes]], seconds: float, rate: float | None, out: Any
) -> None:
    """Post `bodies` for `seconds` (back to back, or `rate` requests/s); report latencies and CPU."""
    session = requests.Session()
    latencies: list[float] = []
    errors = 0
    sent = 0
    begin = time.perf_counter()
    i = 0
    while time.perf_counter() - begin < seconds and i < len(bodies):
        if rate:
            target = begin + sent / rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        token, body = bodies[i]
        i += 1
        t0 = time.perf_counter()
        r = session.post(
            f"{url}/api/v1/reports",
            data=body,
            timeout=30,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        latencies.append(time.perf_counter() - t0)
        sent += 1
        if r.status_code != 200:
            errors += 1
    elapsed = time.perf_counter() - begin
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {"latencies": latencies, "errors": errors, "elapsed": elapsed, "cpu": cpu.ru_utime + cpu.ru_stime}
    )
    session.close()


def run_phase(
    url: str,
    bodies: list[tuple[str, bytes]],
    procs: int,
    seconds: float,
    batch: int,
    rate_results: float | None,
) -> dict[str, float]:
    """Run one load phase over `procs` processes and return the figures."""
    queue: Any = mp.Queue()
    per = len(bodies) // procs
    rate = rate_results / batch / procs if rate_results else None
    workers = [
        mp.Process(target=load_process, args=(url, bodies[k * per : (k + 1) * per], seconds, rate, queue))
        for k in range(procs)
    ]
    for w in workers:
        w.start()
    reports = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    lat = sorted(x for r in reports for x in r["latencies"])
    requests_done = len(lat)
    elapsed = max(r["elapsed"] for r in reports)
    return {
        "results_per_s": requests_done * batch / elapsed,
        "requests_per_s": requests_done / elapsed,
        "p50_ms": lat[len(lat) // 2] * 1000 if lat else float("nan"),
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan"),
        "errors": sum(r["errors"] for r in reports),
        "loadgen_cpu_s": sum(r["cpu"] for r in reports),
        "elapsed": elapsed,
    }


def enroll_hosts(url: str, token: str, count: int) -> list[tuple[str, str]]:
    session = requests.Session()
    hosts = []
    for i in range(count):
        r = session.post(
            f"{url}/api/v1/enroll", json={"token": token, "hostname": f"bench-{i:04d}"}, timeout=30
        )
        r.raise_for_status()
        hosts.append((r.json()["host_id"], r.json()["agent_token"]))
    session.close()
    return hosts


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "fernwart-collector"), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout.strip().splitlines()[-1]


def bench_database(label: str, database_url: str | None, args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix=f"fernwart-bench-{label}-"))
    env = {**os.environ, "FERNWART_HOME": str(home)}
    if database_url:
        env["FERNWART_DATABASE_URL"] = database_url
    token = cli(env, "token", "create")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(BIN / "fernwart-collector"),
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(args.workers),
        ],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        hosts = enroll_hosts(url, token, args.hosts)
        estimate = int(args.seconds * 40000 / args.batch) + 50
        bodies = build_bodies(hosts, args.batch, estimate, seed=1)
        cpu0 = _cpu_tree(server.pid)
        peak = run_phase(url, bodies, args.procs, args.seconds, args.batch, None)
        cpu1 = _cpu_tree(server.pid)
        fixed_bodies = build_bodies(
            hosts, args.batch, int(args.seconds * args.rate / args.batch) + 50, seed=2
        )
        fixed = run_phase(url, fixed_bodies, args.procs, args.seconds, args.batch, args.rate)
        print(
            f"{label:<11} throughput: {peak['results_per_s']:8.0f} results/s "
            f"({peak['requests_per_s']:.0f} req/s of {args.batch}), p50 {peak['p50_ms']:.1f} ms, "
            f"p99 {peak['p99_ms']:.1f} ms, errors {peak['errors']:.0f}; collector CPU "
            f"{(cpu1 - cpu0) / peak['elapsed']:.2f} cores, load generator CPU "
            f"{peak['loadgen_cpu_s'] / peak['elapsed']:.2f} cores"
        )
        print(
            f"{label:<11} at {args.rate:.0f} results/s: achieved {fixed['results_per_s']:.0f}/s, "
            f"p50 {fixed['p50_ms']:.1f} ms, p99 {fixed['p99_ms']:.1f} ms, errors {fixed['errors']:.0f}"
        )
        sys.stdout.flush()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_tree(pid: int) -> float:
    """Return CPU seconds of `pid` and its children (uvicorn workers)."""
    total = _cpu_of(pid)
    for child in Path("/proc").glob("[0-9]*"):
        try:
            if Path(child / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                total += _cpu_of(int(child.name))
        except (OSError, IndexError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=200, help="results per request (throughput phase)")
    parser.add_argument(
        "--latency-batch",
        type=int,
        default=20,
        help="results per request in the latency phase (an agent's 20 checks a minute)",
    )
    parser.add_argument("--procs", type=int, default=8, help="load generator processes")
    parser.add_argument("--hosts", type=int, default=500, help="simulated hosts (20 checks each)")
    parser.add_argument("--rate", type=float, default=3300, help="results/s for the latency phase")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--workers", type=int, default=2, help="collector worker processes")
    args = parser.parse_args()
    print(
        f"ingest benchmark: {os.cpu_count()} CPUs, {args.workers} collector workers, batch {args.batch}, "
        f"{args.procs} load processes, "
        f"{args.hosts} hosts, {args.seconds:.0f} s per phase"
    )
    if args.only in (None, "sqlite"):
        bench_database("sqlite", None, args)
    if args.only in (None, "postgresql"):
        from sqlalchemy import create_engine

        name = f"fernwart_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            bench_database("postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
