"""Jobs `via: ssh` through the real API, run by the collector's SSH job code against a real sshd."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fernwart.collector.app import ssh_job_config
from fernwart.collector.services import ssh_jobs, ssh_targets
from fernwart.collector.settings import Settings
from fernwart.ssh import KnownHosts, scan_host_key
from tests.collector.helpers import Harness, harness, result
from tests.sshd import SSHServer

PLAYBOOK = """
name: ssh-probe
version: 1
description: every step kind over SSH
kind: diagnostic
timeout: 1m
step_timeout: 20s
read_roots: [{root}]
params:
  dir: {{type: path, roots: ["{root}"], default: "{root}"}}
  pause: {{type: int, min: 0, max: 60, default: 0}}
steps:
  - {{name: echo, run: [printf, "%s|", "{{dir}}", "$(id)"]}}
  - {{name: logs, read_file: ["{root}/*.log"], tail: 2}}
  - {{name: escape, read_file: ["{root}/escape/*"]}}
  - {{name: load, collect: load}}
  - {{name: mounts, collect: mounts}}
  - {{name: cert, collect: certificate, with: {{host: localhost}}}}
  - {{name: disk, check: disk, options: {{mounts: ["/"]}}}}
  - {{name: pause, run: [sleep, "{{pause}}"], timeout: 2s}}
"""


@contextmanager
def ssh_harness(database_url: str, sshd: SSHServer, tmp_path: Path) -> Iterator[tuple[Harness, Settings]]:
    root = tmp_path / "root"
    (root / "escape").mkdir(parents=True)
    (root / "app.log").write_text("one\ntwo\nthree\n")
    (root / "escape" / "passwd").symlink_to("/etc/passwd")  # a link out of the declared root
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "ssh-probe.yaml").write_text(PLAYBOOK.format(root=root))
    (playbooks / "restart-service.yaml").write_text(
        (Path(__file__).parents[2] / "playbooks" / "restart-service.yaml").read_text())
    sshd.client_key.rename(tmp_path / "collector_key")
    overrides: dict[str, Any] = {"playbooks_dir": playbooks, "ssh_known_hosts": tmp_path / "known_hosts",
                                 "ssh_key": tmp_path / "collector_key"}
    with harness(database_url, **overrides) as h:
        yield h, Settings(**overrides)


def enroll_with_target(h: Harness, sshd: SSHServer, name: str = "web01") -> str:
    host_id, _ = h.enroll(name)
    with h.sessions() as db:
        ssh_targets.set_target(db, ssh_targets.find_host(db, host_id), h.clock.now, address="127.0.0.1",
                               port=sshd.port, user=sshd.user)
        db.commit()
    return host_id


def trust(sshd: SSHServer, tmp_path: Path) -> None:
    KnownHosts(tmp_path / "known_hosts").add("127.0.0.1", sshd.port, scan_host_key("127.0.0.1", sshd.port))


def run_queued(h: Harness, settings: Settings) -> str | None:
    return ssh_jobs.run_next(h.sessions, ssh_job_config(settings), lambda: h.clock.now)


def test_a_diagnostic_over_ssh_has_agent_job_states_audit_and_ticket_history(
    database_url: str, sshd: SSHServer, tmp_path: Path,
) -> None:
    with ssh_harness(database_url, sshd, tmp_path) as (h, settings):
        host_id = enroll_with_target(h, sshd)
        trust(sshd, tmp_path)
        assert h.report("web01", [result("app", 2, h.clock.now, max_attempts=1)]).status_code == 200
        [ticket] = h.get("/api/v1/tickets")
        r = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "ssh-probe", "via": "ssh",
                                                     "ticket": ticket["id"]})
        assert r.status_code == 201, r.text
        job = r.json()
        assert (job["state"], job["via"]) == ("queued", "ssh")
        agent = {"Authorization": f"Bearer {h.hosts['web01'][1]}"}
        assert h.client.get("/api/v1/agent/jobs", headers=agent).status_code == 204  # not the agent's
        assert run_queued(h, settings) == job["id"]
        assert run_queued(h, settings) is None  # run once
        done = h.get(f"/api/v1/jobs/{job['id']}")
        # the refused read fails its step, and so the run, as through the agent; every other step still ran
        assert [e["state"] for e in done["events"]] == ["queued", "delivered", "running", "failed"]
        assert done["error"] == "step 'escape' failed"
        steps = {s["name"]: s for s in done["result"]["steps"]}
        assert steps["echo"]["output"] == f"{tmp_path / 'root'}|$(id)|" and steps["echo"]["exit_code"] == 0
        assert steps["logs"]["output"] == f"==> {tmp_path / 'root' / 'app.log'} <==\ntwo\nthree"
        assert steps["escape"]["status"] == "failed"
        assert "refused: resolves to /etc/passwd, outside" in steps["escape"]["output"]
        assert "root:" not in steps["escape"]["output"]
        assert steps["load"]["status"] == "ok" and "$ cat /proc/loadavg" in steps["load"]["output"]
        assert steps["mounts"]["status"] == "ok" and "Mounted on" in steps["mounts"]["output"]
        for skipped in ("cert", "disk"):
            assert steps[skipped]["status"] == "skipped"
            assert steps[skipped]["output"].startswith("needs the agent: ")
        audit = h.get("/api/v1/audit")
        assert [a["action"] for a in audit] == ["finished", "queued"]
        assert audit[0]["outcome"] == "failed: step 'escape' failed" and audit[1]["hash"] == job["digest"]
        history = h.get(f"/api/v1/tickets/{ticket['id']}")["events"]
        text = next(e["message"] for e in history if e["kind"] == "diagnostic")
        assert text.startswith("playbook ssh-probe v1 (diagnostic): failed") and "== echo ok" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unknown_host_key_refuses_the_job_naming_its_fingerprint(
    database_url: str, sshd: SSHServer, tmp_path: Path,
) -> None:
    with ssh_harness(database_url, sshd, tmp_path) as (h, settings):
        host_id = enroll_with_target(h, sshd)
        job = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "ssh-probe", "via": "ssh"}).json()
        run_queued(h, settings)
        done = h.get(f"/api/v1/jobs/{job['id']}")
        assert done["state"] == "refused" and sshd.host_fingerprint() in done["error"]
        assert [e["state"] for e in done["events"]] == ["queued", "delivered", "refused"]
        known = KnownHosts(tmp_path / "known_hosts")
        known.add("127.0.0.1", sshd.port, scan_host_key("127.0.0.1", sshd.port))
        old = sshd.host_fingerprint()
        sshd.replace_host_key()
        again = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "ssh-probe", "via": "ssh"}).json()
        run_queued(h, settings)
        changed = h.get(f"/api/v1/jobs/{again['id']}")
        assert changed["state"] == "refused" and "HOST KEY CHANGED" in changed["error"]
        assert old in changed["error"] and sshd.host_fingerprint() in changed["error"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_path_tricks_timeouts_and_repairs_over_ssh(
    database_url: str, sshd: SSHServer, tmp_path: Path,
) -> None:
    with ssh_harness(database_url, sshd, tmp_path) as (h, settings):
        host_id = enroll_with_target(h, sshd)
        trust(sshd, tmp_path)
        jobs = f"/api/v1/hosts/{host_id}/jobs"
        root = tmp_path / "root"
        dotted = h.post(jobs, {"playbook": "ssh-probe", "via": "ssh", "params": {"dir": f"{root}/../etc"}})
        assert dotted.status_code == 422 and "normalised" in dotted.json()["error"]
        os.symlink("/etc", root / "etc-link")
        linked = h.post(jobs, {"playbook": "ssh-probe", "via": "ssh", "params": {"dir": f"{root}/etc-link"}})
        assert linked.status_code == 201  # the link is found out on the host, before any step runs
        run_queued(h, settings)
        refused = h.get(f"/api/v1/jobs/{linked.json()['id']}")
        assert refused["state"] == "refused" and "resolves to '/etc'" in refused["error"]
        assert refused["result"]["steps"] == []
        slow = h.post(jobs, {"playbook": "ssh-probe", "via": "ssh", "params": {"pause": 30}}).json()
        run_queued(h, settings)
        timed = h.get(f"/api/v1/jobs/{slow['id']}")
        assert timed["state"] == "timed_out" and "step 'pause' timed out" in timed["error"]
        assert "[killed after 2s]" in timed["result"]["steps"][-1]["output"]
        assert timed["result"]["steps"][0]["status"] == "ok"  # the output so far is kept
        unknown = h.post(jobs, {"playbook": "disk-full", "via": "ssh"})
        assert unknown.status_code == 422
        assert "collector holds no playbook 'disk-full'" in unknown.json()["error"]
        repair = h.post(jobs, {"playbook": "restart-service", "via": "ssh",
                               "params": {"unit": "cron.service"}})
        assert repair.status_code == 403 and "full maintenance" in repair.json()["error"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_job_left_running_by_a_stopped_collector_ends_interrupted_and_never_reruns(
    database_url: str, sshd: SSHServer, tmp_path: Path,
) -> None:
    from datetime import timedelta

    from fernwart.collector.services import diagnostics

    with ssh_harness(database_url, sshd, tmp_path) as (h, settings):
        host_id = enroll_with_target(h, sshd)
        job = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "ssh-probe", "via": "ssh"}).json()
        with h.sessions() as db:  # taken by a collector that then died
            assert diagnostics.claim_ssh_job(db, h.clock.now) is not None
            db.commit()
        h.clock.advance(minutes=30)
        assert run_queued(h, settings) is None
        assert h.get(f"/api/v1/jobs/{job['id']}")["state"] == "delivered"  # may still be running
        h.clock.now += diagnostics.SSH_JOB_LEASE + timedelta(minutes=1)
        assert run_queued(h, settings) is None
        done = h.get(f"/api/v1/jobs/{job['id']}")
        assert done["state"] == "failed" and done["error"].startswith("interrupted")
        assert [a["action"] for a in h.get("/api/v1/audit")][0] == "finished"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_expired_ssh_job_is_not_run(database_url: str, sshd: SSHServer, tmp_path: Path) -> None:
    with ssh_harness(database_url, sshd, tmp_path) as (h, settings):
        host_id = enroll_with_target(h, sshd)
        trust(sshd, tmp_path)
        job = h.post(f"/api/v1/hosts/{host_id}/jobs", {"playbook": "ssh-probe", "via": "ssh",
                                                       "expires_in": 60}).json()
        h.clock.advance(seconds=61)
        assert run_queued(h, settings) is None
        assert h.get(f"/api/v1/jobs/{job['id']}")["state"] == "queued"  # until the sweep expires it
