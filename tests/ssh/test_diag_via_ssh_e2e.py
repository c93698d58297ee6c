"""End to end: `fernwart diag run HOST PLAYBOOK --via ssh --wait` against a real collector process that
runs the shipped `host-overview` playbook over SSH against a real sshd, after `ssh target` and `ssh trust`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.processes import BIN, Collector
from tests.sshd import SSHServer
from tests.support import REPO

pytestmark = pytest.mark.e2e


def test_diag_run_via_ssh_end_to_end(sshd: SSHServer, tmp_path: Path) -> None:
    collector = Collector(tmp_path / "collector", job_interval=30)
    collector.env.update({"FERNWART_PLAYBOOKS_DIR": str(REPO / "playbooks"),
                          "FERNWART_SSH_KEY": str(sshd.client_key), "FERNWART_SSH_WORKERS": "2"})
    token = collector.cli("user", "add", "alice", "--role", "level1")
    enrollment = collector.cli("token", "create", "--customer", "Muster GmbH")
    collector.start()
    try:
        r = requests.post(f"{collector.url}/api/v1/enroll", json={"token": enrollment, "hostname": "web01"},
                          timeout=10)
        assert r.status_code == 201, r.text
        collector.cli("ssh", "target", "web01", "--address", "127.0.0.1", "--port", str(sshd.port),
                      "--user", sshd.user)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("FERNWART_")},
               "HOME": str(tmp_path), "FERNWART_URL": collector.url, "FERNWART_TOKEN": token}

        def diag(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([str(BIN / "fernwart"), "diag", "run", "web01", "host-overview", "--via",
                                   "ssh", "--wait", "--timeout", "120", *args], env=env, capture_output=True,
                                  text=True, timeout=180)

        untrusted = diag()
        assert untrusted.returncode == 0, untrusted.stderr
        assert "over SSH: refused" in untrusted.stdout and sshd.host_fingerprint() in untrusted.stdout
        collector.cli("ssh", "trust", "web01", "--yes")
        done = diag("--json")
        assert done.returncode == 0, done.stderr
        job = json.loads(done.stdout)
        assert (job["via"], job["state"]) == ("ssh", "succeeded"), job["error"]
        assert [e["state"] for e in job["events"]] == ["queued", "delivered", "running", "succeeded"]
        steps = {s["name"]: s for s in job["result"]["steps"]}
        assert list(steps) == ["load", "memory", "mounts", "interfaces", "listening", "failed-units",
                               "reboots", "packages", "top-processes"]
        assert all(s["status"] == "ok" for s in steps.values()), steps
        assert "MemTotal:" in steps["memory"]["output"] and "openssh-server" in steps["packages"]["output"]
        shown = subprocess.run([str(BIN / "fernwart"), "diag", "show", job["id"]], env=env,
                               capture_output=True, text=True, timeout=60)
        assert "over SSH: succeeded" in shown.stdout and "== load [collect] ok" in shown.stdout
        audit = subprocess.run([str(BIN / "fernwart"), "audit"], env=env, capture_output=True, text=True,
                               timeout=60).stdout.splitlines()
        assert "alice finished host-overview v1" in audit[0] and audit[0].endswith("succeeded")
    finally:
        collector.stop()
