"""Job long-polls against real collector processes: many held at once, and woken across collectors.

The fallback recheck (FERNWART_JOB_RECHECK) is set to an hour and polls wait 60 s, so a job that
reaches a waiting poll within seconds can only have come through a wake-up: in-process on SQLite,
PostgreSQL's LISTEN/NOTIFY between two collectors.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from fernwart.agent.playbooks.library import held_entry, load_library
from fernwart.collector.services.job_wakeup import LISTENER_NAME
from tests.e2e.processes import Collector, wait_for
from tests.support import REPO

pytestmark = pytest.mark.e2e
HELD = [held_entry(p) for p in load_library(REPO / "playbooks").playbooks.values()]
NO_RECHECK = {"FERNWART_JOB_RECHECK": "3600"}


def started(home: Path, database_url: str | None = None) -> Collector:
    collector = Collector(home, database_url)
    collector.env.update(NO_RECHECK)
    collector.start()
    return collector


def enroll(collector: Collector, count: int) -> list[tuple[str, str]]:
    """Enroll `count` hosts through the API; return (host id, agent token) of each."""
    token = collector.cli("token", "create", "--uses", str(count))
    hosts = []
    with requests.Session() as http:
        for n in range(count):
            r = http.post(f"{collector.url}/api/v1/enroll", json={"token": token, "hostname": f"h{n:04d}"},
                          timeout=30)
            assert r.status_code == 201, r.text
            hosts.append((r.json()["host_id"], r.json()["agent_token"]))
    return hosts


def hold(url: str, agent_token: str) -> None:
    """Report, as the host's agent, that it holds the shipped playbooks."""
    r = requests.put(f"{url}/api/v1/agent/playbooks", json={"playbooks": HELD}, timeout=30,
                     headers={"Authorization": f"Bearer {agent_token}"})
    assert r.status_code == 204, r.text


def waiting(collector: Collector) -> int:
    found = re.search(r"^fernwart_job_polls_waiting (\S+)$",
                      requests.get(f"{collector.url}/metrics", timeout=10).text, re.M)
    return int(float(found.group(1))) if found else -1


def queue(url: str, admin: str, host_id: str) -> dict[str, Any]:
    r = requests.post(f"{url}/api/v1/hosts/{host_id}/jobs", json={"playbook": "high-load"}, timeout=30,
                      headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


class Poll:
    """One raw `GET /api/v1/agent/jobs?wait=60` on its own socket; `answer` reads the response."""

    def __init__(self, url: str, agent_token: str, wait: int = 60) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=120)
        self.sock.sendall(f"GET /api/v1/agent/jobs?wait={wait} HTTP/1.1\r\nHost: {host}\r\n"
                          f"Authorization: Bearer {agent_token}\r\nConnection: close\r\n\r\n".encode())

    def answer(self) -> tuple[int, dict[str, Any] | None]:
        data = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        self.sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, json.loads(body) if body else None

    def close(self) -> None:
        self.sock.close()


class Timed(threading.Thread):
    """Reads a poll's answer in a thread and notes when it came."""

    def __init__(self, poll: Poll) -> None:
        super().__init__(daemon=True)
        self.poll = poll
        self.answer: tuple[int, dict[str, Any] | None] | None = None
        self.at = 0.0

    def run(self) -> None:
        self.answer = self.poll.answer()
        self.at = time.monotonic()


@pytest.fixture
def pair(pg_url: str, tmp_path: Path) -> Iterator[tuple[Collector, Collector]]:
    a, b = started(tmp_path / "a", pg_url), started(tmp_path / "b", pg_url)
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def listeners(pg_url: str) -> list[int]:
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n "
                                 "AND datname = current_database()"), {"n": LISTENER_NAME}).scalars().all()
    engine.dispose()
    return list(pids)


def deliver_across(a: Collector, b: Collector, admin: str, host_id: str, agent_token: str) -> float:
    """Queue a job on `a` while the host's agent waits on `b`; return how long it took to arrive."""
    reader = Timed(Poll(b.url, agent_token))
    reader.start()
    wait_for("the poll to wait at B", lambda: waiting(b) == 1)
    queued_at = time.monotonic()
    job = queue(a.url, admin, host_id)
    reader.join(70)
    assert reader.answer is not None and reader.answer[0] == 200, reader.answer
    assert reader.answer[1] is not None and reader.answer[1]["id"] == job["id"]
    return reader.at - queued_at


@pytest.mark.postgres
def test_a_job_queued_on_one_collector_reaches_an_agent_polling_another(
    pair: tuple[Collector, Collector], pg_url: str,
) -> None:
    a, b = pair
    admin = a.cli("user", "add", "alice", "--role", "admin")
    (host_id, agent_token), = enroll(a, 1)
    hold(b.url, agent_token)
    wait_for("one listening connection per collector", lambda: len(listeners(pg_url)) == 2)
    took = deliver_across(a, b, admin, host_id, agent_token)
    assert took < 10, f"{took:.2f}s: the wake-up did not come through NOTIFY (recheck is 3600 s)"
    # the listening connection is cut: the collector listens again and the next job still arrives
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        cut = listeners(pg_url)
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:p AS int[])) AS pid"),
                     {"p": cut})
    engine.dispose()
    wait_for("both collectors to listen again",
             lambda: len(now := listeners(pg_url)) == 2 and not set(now) & set(cut), timeout=60)
    took = deliver_across(a, b, admin, host_id, agent_token)
    assert took < 10, f"{took:.2f}s after the listener reconnected"


def thread_count(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]


def test_many_idle_polls_pin_no_thread_and_starve_no_request(tmp_path: Path) -> None:
    count = 300  # well past the 40 threads of the worker pool: a thread per poll would starve the rest
    collector = started(tmp_path / "c")
    try:
        admin = collector.cli("user", "add", "alice", "--role", "admin")
        hosts = enroll(collector, count)
        hold(collector.url, hosts[0][1])
        polls = [Poll(collector.url, agent_token) for _, agent_token in hosts]
        wait_for(f"{count} waiting polls", lambda: waiting(collector) == count, timeout=120)
        assert collector.proc is not None
        assert thread_count(collector.proc.pid) < 60
        began = time.monotonic()
        r = requests.get(f"{collector.url}/api/v1/hosts", headers={"Authorization": f"Bearer {admin}"},
                         timeout=30)
        assert r.status_code == 200 and len(r.json()) == count
        assert time.monotonic() - began < 10, "a request waited behind the idle polls"
        reader = Timed(polls[0])
        reader.start()
        queued_at = time.monotonic()
        job = queue(collector.url, admin, hosts[0][0])
        reader.join(70)
        assert reader.answer is not None and reader.answer[1] is not None
        assert reader.answer[1]["id"] == job["id"] and reader.at - queued_at < 10
        for poll in polls[1:]:
            poll.close()
        wait_for("the hung-up polls to be let go", lambda: waiting(collector) == 0, timeout=60)
    finally:
        collector.stop()
