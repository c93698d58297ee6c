"""The agent's job loop against a real collector process: run once, refuse, survive a restart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from fernwart.agent.jobs import JobWorker
from fernwart.agent.outbox import Outbox
from fernwart.agent.transport import CollectorLink
from tests.e2e.processes import Collector
from tests.support import REPO

pytestmark = pytest.mark.e2e


@dataclass
class Setup:
    collector: Collector
    token: str
    host_id: str
    agent_token: str
    playbooks: Path

    def queue(self, playbook: str, **params: Any) -> dict[str, Any]:
        r = requests.post(f"{self.collector.url}/api/v1/hosts/{self.host_id}/jobs", timeout=10,
                          json={"playbook": playbook, "params": params},
                          headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def job(self, job_id: str) -> dict[str, Any]:
        r = requests.get(f"{self.collector.url}/api/v1/jobs/{job_id}", timeout=10,
                         headers={"Authorization": f"Bearer {self.token}"})
        return r.json()  # type: ignore[no-any-return]

    @contextmanager
    def worker(self, outbox: Outbox) -> Iterator[JobWorker]:
        link = CollectorLink(self.collector.url, self.agent_token)
        try:
            yield JobWorker(outbox, link, self.playbooks, allow_repairs=False, wait=2)
        finally:
            link.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("jobs")
    collector = Collector(root / "collector", job_interval=30)
    token = collector.cli("user", "add", "alice", "--role", "admin")
    enrollment = collector.cli("token", "create")
    playbooks = root / "playbooks"
    shutil.copytree(REPO / "playbooks", playbooks)
    collector.start()
    try:
        r = requests.post(f"{collector.url}/api/v1/enroll", json={"token": enrollment, "hostname": "h1"},
                          timeout=10)
        yield Setup(collector, token, r.json()["host_id"], r.json()["agent_token"], playbooks)
    finally:
        collector.stop()


def test_a_queued_job_runs_once_on_the_agent_and_its_result_arrives(setup: Setup, tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite") as outbox:
        with setup.worker(outbox) as worker:
            run_one(worker, setup)


def run_one(worker: JobWorker, setup: Setup) -> None:
    """Queue a job for a worker that holds the shipped playbooks; check it ran once and reported."""
    assert worker.step() is False  # reports its playbooks; no job yet
    job = setup.queue("high-load", count=3)
    assert worker.step() is True
    outbox = worker.outbox
    done = setup.job(job["id"])
    assert done["state"] == "succeeded", done
    assert [e["state"] for e in done["events"]] == ["queued", "delivered", "running", "succeeded"]
    assert [s["name"] for s in done["result"]["steps"]][:2] == ["load", "top-processes"]
    assert "load:" in done["result"]["steps"][0]["output"]
    assert outbox.job_results() == []
    worker.run({"id": job["id"], "playbook": "high-load", "hash": job["digest"], "params": {}})
    assert outbox.job_results() == []  # a job id seen before is never run again


def test_a_tampered_playbook_is_refused_and_the_refusal_reported(setup: Setup, tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite") as outbox:
        with setup.worker(outbox) as worker:
            tamper(worker, setup)


def tamper(worker: JobWorker, setup: Setup) -> None:
    """Edit a held playbook after its hash was reported; the job must be refused."""
    worker.step()
    job = setup.queue("memory-pressure")
    target = setup.playbooks / "memory-pressure.yaml"
    original = target.read_text()
    target.write_text(original.replace("default: 10", "default: 11"))
    try:
        assert worker.step() is True
    finally:
        target.write_text(original)
    done = setup.job(job["id"])
    assert done["state"] == "refused" and "hash" in done["error"]


def test_an_agent_restart_in_the_middle_reports_the_job_interrupted(setup: Setup, tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as outbox:
        with setup.worker(outbox) as worker:
            worker.step()
        job = setup.queue("host-overview")
        delivered = requests.get(f"{setup.collector.url}/api/v1/agent/jobs", timeout=10,
                                 headers={"Authorization": f"Bearer {setup.agent_token}"})
        assert delivered.json()["id"] == job["id"]
        assert outbox.start_job(job["id"])  # the agent dies here, before any step finished
    with Outbox(path) as outbox:
        with setup.worker(outbox) as worker:
            worker.send_results()
    done = setup.job(job["id"])
    assert done["state"] == "failed" and done["error"] == "interrupted by an agent restart"


def test_a_signing_agent_refuses_a_playbook_altered_after_signing(setup: Setup, tmp_path: Path) -> None:
    from fernwart.client.cli import main

    bundle = tmp_path / "signed"
    shutil.copytree(setup.playbooks, bundle)
    assert main(["playbooks", "keygen", "--out", str(tmp_path / "key")], environ={}) == 0
    assert main(["playbooks", "sign", "--key", str(tmp_path / "key"), str(bundle)], environ={}) == 0
    key = (tmp_path / "key.pub").read_bytes()
    with Outbox(tmp_path / "outbox.sqlite") as outbox:
        link = CollectorLink(setup.collector.url, setup.agent_token)
        try:
            worker = JobWorker(outbox, link, bundle, allow_repairs=False, wait=2, signing_key=key)
            worker.step()  # reports the signed playbooks as held
            ok = setup.queue("host-overview")
            assert worker.step() is True and setup.job(ok["id"])["state"] == "succeeded"
            job = setup.queue("memory-pressure")
            target = bundle / "memory-pressure.yaml"
            target.write_text(target.read_text() + "  - {name: more, run: [id]}\n")  # still valid, not signed
            assert worker.step() is True
        finally:
            link.close()
    done = setup.job(job["id"])
    assert done["state"] == "refused", done
    assert "not trusted" in done["error"] and "altered since it was signed" in done["error"]
    assert done["result"]["steps"] == []


SLOW = """name: slow
version: 1
description: A long run, for cancelling.
kind: diagnostic
timeout: 2m
steps:
  - {name: wait, run: [sleep, "90"], timeout: 90s}
"""


def test_a_running_job_is_cancelled_its_process_killed_and_reported_cancelled(
    setup: Setup, tmp_path: Path,
) -> None:
    import threading
    import time

    bundle = tmp_path / "playbooks"
    shutil.copytree(setup.playbooks, bundle)
    (bundle / "slow.yaml").write_text(SLOW)
    headers = {"Authorization": f"Bearer {setup.token}"}
    with Outbox(tmp_path / "outbox.sqlite") as outbox:
        link = CollectorLink(setup.collector.url, setup.agent_token)
        try:
            worker = JobWorker(outbox, link, bundle, allow_repairs=False, wait=2)
            worker.step()  # reports what it holds, slow among them
            job = setup.queue("slow")
            runner = threading.Thread(target=worker.step)
            runner.start()
            deadline = time.monotonic() + 30
            while setup.job(job["id"])["state"] != "running":
                assert time.monotonic() < deadline, setup.job(job["id"])
                time.sleep(0.1)
            asked = time.monotonic()
            r = requests.post(f"{setup.collector.url}/api/v1/jobs/{job['id']}/cancel", headers=headers,
                              timeout=10)
            assert r.status_code == 200 and r.json()["cancel_requested_at"] is not None, r.text
            runner.join(60)
            assert not runner.is_alive() and time.monotonic() - asked < 30  # not the 90 s of the sleep
        finally:
            link.close()
    done = setup.job(job["id"])
    assert done["state"] == "cancelled", done
    assert "[killed: the job was cancelled]" in done["result"]["steps"][0]["output"]
    assert any(e["message"].startswith("cancel requested by alice") for e in done["events"])
    again = requests.post(f"{setup.collector.url}/api/v1/jobs/{job['id']}/cancel", headers=headers,
                          timeout=10)
    assert again.status_code == 409
