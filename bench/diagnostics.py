#!/usr/bin/env python3
"""Job channel benchmark: trigger-to-start latency and idle long-polls held by one collector process.

It starts real `fernwart-collector serve` processes (SQLite in a temporary directory, or a throwaway
PostgreSQL database with --postgres) and seeds hosts with agent tokens straight into the database.
Phases:

1. one online agent: the agent's own job loop (`fernwart.agent.jobs.JobWorker`, real HTTP) waits on
   the long-poll; a technician queues a job; latency = POST of the job until the agent starts running
   it (--trials times, one after another);
2. N agents triggered at once (--agents, default 100): each waits on its own long-poll connection, N
   jobs are queued together (32 requests in flight); latency per job = its POST until its agent has it;
3. idle long-polls (--polls, default 2000) held by one collector process: its RSS and threads before
   and while they wait, the latency of other requests meanwhile, and one job delivered among them;
4. with --postgres: a job queued on collector A reaching an agent polling collector B (LISTEN/NOTIFY).

It prints figures; it asserts no timings. Aims (issue 8): median < 0.3 s and p99 < 1 s for one agent;
2,000+ idle polls in one process.

    .venv/bin/python bench/diagnostics.py [--trials 40] [--agents 100] [--polls 2000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import requests
from scratch import throwaway_postgres
from sqlalchemy import insert

from fernwart.agent.jobs import JobWorker
from fernwart.agent.outbox import Outbox
from fernwart.agent.playbooks.library import held_entry, load_library
from fernwart.agent.transport import CollectorLink
from fernwart.collector import database
from fernwart.collector.models import Host, HostPlaybooks
from fernwart.collector.services import auth

BIN = Path(sys.executable).parent
PLAYBOOK = """\
name: bench-load
version: 1
description: The load average, read in-process (a quick job for the benchmark).
kind: diagnostic
timeout: 30s
steps:
  - {name: load, collect: load}
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, hosts: int, playbooks: Path) -> tuple[str, list[tuple[str, str]]]:
    """Migrate, insert `hosts` hosts holding the bench playbook; return the admin token and (id, token)s."""
    engine = database.make_engine(url)
    database.migrate(engine)
    now = datetime.now(UTC)
    held = [held_entry(p) for p in load_library(playbooks).playbooks.values()]
    agents = [(str(uuid.uuid4()), f"fwa_bench{n:05d}{uuid.uuid4().hex}") for n in range(hosts)]
    with engine.begin() as conn:
        conn.execute(insert(Host), [
            {"id": host_id, "name": f"bench{n:05d}", "enrolled_at": now, "last_seen_at": now,
             "state": "up", "os": "Linux", "agent_version": "bench", "criticality": "normal",
             "heartbeat_interval": 3600, "agent_token_hash": auth.hash_token(token), "token_issued_at": now}
            for n, (host_id, token) in enumerate(agents)])
        conn.execute(insert(HostPlaybooks), [
            {"host_id": host_id, "allow_repairs": False, "held": held, "reported_at": now}
            for host_id, _ in agents])
    with database.session_factory(engine)() as db:
        admin = auth.create_user(db, "bench", "admin", now)
        db.commit()
    engine.dispose()
    return admin, agents


class Collector:
    """One `fernwart-collector serve` process."""

    def __init__(self, url: str, home: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "FERNWART_HOME": str(home), "FERNWART_DATABASE_URL": url,
               "FERNWART_JOB_RECHECK": "3600", "FERNWART_JOB_INTERVAL": "30"}
        self.log = open(home / "collector.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([str(BIN / "fernwart-collector"), "serve", "--port", str(self.port),
                                      "--log-level", "warning"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"collector did not start; see {home / 'collector.log'}")

    def waiting(self) -> int:
        text = requests.get(f"{self.base}/metrics", timeout=30).text
        found = re.search(r"^fernwart_job_polls_waiting (\S+)$", text, re.M)
        return int(float(found.group(1))) if found else -1

    def wait_for_polls(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.waiting() != count:
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.waiting()} polls waiting, expected {count}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def queue(http: requests.Session, base: str, admin: str, host_id: str) -> str:
    r = http.post(f"{base}/api/v1/hosts/{host_id}/jobs", json={"playbook": "bench-load"}, timeout=60,
                  headers={"Authorization": f"Bearer {admin}"})
    r.raise_for_status()
    return str(r.json()["id"])


def figures(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(f"  {name}: n={len(ordered)} median {statistics.median(ordered) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")


class TimedWorker(JobWorker):
    """The agent's job loop, noting when each job starts."""

    started: dict[str, float]

    def run(self, job: dict[str, Any]) -> None:
        self.started[str(job.get("id"))] = time.monotonic()
        super().run(job)


def one_agent(collector: Collector, admin: str, agent: tuple[str, str], playbooks: Path, trials: int,
              work: Path) -> None:
    link = CollectorLink(collector.base, agent[1])
    worker = TimedWorker(Outbox(work / "outbox.sqlite"), link, playbooks, allow_repairs=False, wait=5)
    worker.started = {}
    worker.start()
    latencies = []
    with requests.Session() as http:
        for _ in range(trials):
            collector.wait_for_polls(1)
            began = time.monotonic()
            job_id = queue(http, collector.base, admin, agent[0])
            while job_id not in worker.started:
                time.sleep(0.001)
            latencies.append(worker.started[job_id] - began)
    worker.stop()  # returns with its last poll (wait=5), so later phases count only their own
    link.close()
    figures("one online agent, trigger to start", latencies)


async def poll(port: int, token: str, wait: int) -> tuple[int, dict[str, Any] | None]:
    """One long-poll on its own connection; return status and job."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/v1/agent/jobs?wait={wait} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), (json.loads(body) if body else None)


class PollingAgents:
    """Simulated agents in an event loop thread: each waits on its own long-poll until it gets a job."""

    def __init__(self, port: int, agents: list[tuple[str, str]], wait: int = 60) -> None:
        self.port, self.agents, self.wait = port, agents, wait
        self.arrived: dict[str, float] = {}  # job id -> when its agent had it
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.tasks: list[Future[None]] = []

    async def _agent(self, token: str) -> None:
        while True:
            status, job = await poll(self.port, token, self.wait)
            if status == 200 and job is not None:
                self.arrived[str(job["id"])] = time.monotonic()
                return

    def start(self, batch: int = 250) -> None:
        for n in range(0, len(self.agents), batch):
            for _, token in self.agents[n:n + batch]:
                self.tasks.append(asyncio.run_coroutine_threadsafe(self._agent(token), self.loop))
            time.sleep(0.2)  # stay within the listen backlog

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cancel_all(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @staticmethod
    async def _cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def many_agents(collector: Collector, admin: str, agents: list[tuple[str, str]]) -> None:
    polling = PollingAgents(collector.port, agents)
    polling.start()
    collector.wait_for_polls(len(agents))
    triggered: dict[str, float] = {}
    committed: dict[str, float] = {}
    began = time.monotonic()

    def trigger(host_id: str) -> None:
        with requests.Session() as http:
            at = time.monotonic()
            job_id = queue(http, collector.base, admin, host_id)
            triggered[job_id], committed[job_id] = at, time.monotonic()

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(trigger, [host_id for host_id, _ in agents]))
    deadline = time.monotonic() + 120
    while len(polling.arrived) < len(agents) and time.monotonic() < deadline:
        time.sleep(0.01)
    polling.stop()
    latencies = [polling.arrived[j] - at for j, at in triggered.items() if j in polling.arrived]
    figures(f"{len(agents)} agents triggered at once, trigger to start", latencies)
    figures("  of that, from the job's 201 (committed) to start",
            [polling.arrived[j] - at for j, at in committed.items() if j in polling.arrived])
    print(f"  all {len(agents)} started {max(polling.arrived.values()) - began:.2f} s after the first "
          f"trigger ({len(latencies)} of {len(agents)} arrived)")


def rss_mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def idle_polls(collector: Collector, admin: str, agents: list[tuple[str, str]]) -> None:
    process = psutil.Process(collector.proc.pid)
    before, threads_before = rss_mb(process), process.num_threads()
    held = PollingAgents(collector.port, agents)
    began = time.monotonic()
    held.start()
    collector.wait_for_polls(len(agents), timeout=300)
    opened = time.monotonic() - began
    during, threads = rss_mb(process), process.num_threads()
    print(f"  {len(agents)} idle long-polls held by one collector process (opened in {opened:.1f} s): "
          f"RSS {before:.0f} MB before, {during:.0f} MB while waiting "
          f"({(during - before) * 1024 / len(agents):.0f} KB per poll); "
          f"threads {threads_before} -> {threads}")
    other = []
    with requests.Session() as http:
        headers = {"Authorization": f"Bearer {admin}"}
        for _ in range(20):
            at = time.monotonic()
            http.get(f"{collector.base}/api/v1/hosts/{agents[0][0]}", headers=headers, timeout=60)
            other.append(time.monotonic() - at)
        figures("other requests meanwhile (GET /api/v1/hosts/{id})", other)
        at = time.monotonic()
        job_id = queue(http, collector.base, admin, agents[-1][0])
    while job_id not in held.arrived and time.monotonic() - at < 60:
        time.sleep(0.001)
    took = held.arrived.get(job_id, float("nan")) - at
    print(f"  a job for one of them: trigger to start {took * 1000:.0f} ms")
    held.stop()


def across(a: Collector, b: Collector, admin: str, agent: tuple[str, str], trials: int) -> None:
    latencies = []
    with requests.Session() as http:
        for _ in range(trials):
            polling = PollingAgents(b.port, [agent])
            polling.start(batch=1)
            b.wait_for_polls(1)
            at = time.monotonic()
            job_id = queue(http, a.base, admin, agent[0])
            while job_id not in polling.arrived and time.monotonic() - at < 60:
                time.sleep(0.001)
            latencies.append(polling.arrived[job_id] - at)
            polling.stop()
    figures("queued on collector A, agent polling collector B (PostgreSQL NOTIFY)", latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--polls", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true",
                        help="a throwaway PostgreSQL database and a second collector")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the collector inherits it
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.polls + 1024)), hard))
    work = Path(tempfile.mkdtemp(prefix="fernwart-bench-diag-"))
    playbooks = work / "playbooks"
    playbooks.mkdir()
    (playbooks / "bench-load.yaml").write_text(PLAYBOOK)
    database_of: AbstractContextManager[str | None] = throwaway_postgres() if args.postgres else nullcontext()
    with database_of as pg:
        url = pg or f"sqlite:///{work / 'fernwart.sqlite'}"
        admin, agents = seed(url, 1 + args.agents + args.polls, playbooks)
        print(f"database: {database.safe_url(url).split('://')[0]}; {len(agents)} hosts; "
              f"{os.cpu_count()} CPUs")
        collector = Collector(url, work / "a")
        second = Collector(url, work / "b") if pg else None
        try:
            one_agent(collector, admin, agents[0], playbooks, args.trials, work)
            many_agents(collector, admin, agents[1:1 + args.agents])
            idle_polls(collector, admin, agents[1 + args.agents:])
            if second is not None:
                across(collector, second, admin, agents[0], min(args.trials, 20))
        finally:
            collector.stop()
            if second is not None:
                second.stop()


if __name__ == "__main__":
    main()
