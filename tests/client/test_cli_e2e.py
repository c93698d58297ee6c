"""The real `fernwart` console script against a real `fernwart-collector serve` process on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.e2e.processes import BIN, Collector
from tests.support import require

pytestmark = pytest.mark.e2e
CUSTOMER = "Muster GmbH"
OCT_BERLIN_SECONDS = (31 * 24 + 1) * 3600  # October 2026 in Berlin: 31 days and the hour DST gives back
DOWN = datetime(2026, 10, 10, 12, tzinfo=UTC)
CONTRACT = """
customers:
  - name: Muster GmbH
    contract:
      kind: full
      timezone: Europe/Berlin
      service_hours: 24x7
      availability: {target: 99.9, counts: [host, "check:app"], no_data: exclude}
      priorities:
        matrix: {high: {critical: P1, warning: P2}, normal: {critical: P2, warning: P3},
                 low: {critical: P3, warning: P3}}
        P1: {response: 30m, resolution: 4h}
        P2: {response: 2h, resolution: 1d}
        P3: {response: 8h, resolution: 3d}
      maintenance_windows:
        - {name: patch night, every: "sun 02:00-04:00", scope: all}
    hosts:
      - {name: web01, criticality: high}
"""


@dataclass
class System:
    collector: Collector
    token: str
    home: Path
    host_id: str
    agent_token: str

    def env(self, **changes: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("FERNWART_")}
        return {**base, "HOME": str(self.home), "FERNWART_URL": self.collector.url,
                "FERNWART_TOKEN": self.token, **changes}

    def report(self, results: list[tuple[str, int, datetime]]) -> None:
        body = {"host_id": self.host_id, "results": [
            {"id": str(uuid.uuid4()), "check": check, "status": status, "summary": f"{check} is {status}",
             "observed_at": at.isoformat(), "max_attempts": 1} for check, status, at in results]}
        r = requests.post(f"{self.collector.url}/api/v1/reports", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {self.agent_token}"})
        assert r.status_code == 200, r.text


def fernwart(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the installed `fernwart` console script."""
    return subprocess.run([str(BIN / "fernwart"), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    root = tmp_path_factory.mktemp("cli")
    collector = Collector(root / "collector", job_interval=30)
    collector.env["FERNWART_RESULT_MAX_AGE"] = str(400 * 86400)  # the scenario replays a past month
    token = collector.cli("user", "add", "alice", "--role", "admin")
    enrollment = collector.cli("token", "create", "--customer", CUSTOMER)
    (root / "home").mkdir()
    collector.start()
    try:
        r = requests.post(f"{collector.url}/api/v1/enroll", json={"token": enrollment, "hostname": "web01"},
                          timeout=10)
        assert r.status_code == 201, r.text
        found = System(collector, token, root / "home", r.json()["host_id"], r.json()["agent_token"])
        contract = root / "contract.yaml"
        contract.write_text(CONTRACT)
        applied = fernwart("contracts", "apply", str(contract), env=found.env())
        assert applied.returncode == 0, applied.stderr
        assert applied.stdout.strip() == "applied contracts for Muster GmbH; 1 host criticalities updated"
        found.report([("app", 0, datetime(2026, 9, 1, tzinfo=UTC)), ("app", 2, DOWN),
                      ("app", 0, DOWN + timedelta(minutes=30))])
        yield found
    finally:
        collector.stop()


def test_availability_as_a_readable_table(system: System) -> None:
    done = fernwart("availability", "--customer", CUSTOMER, "--month", "2026-10", env=system.env())
    assert done.returncode == 0, done.stderr
    counted = OCT_BERLIN_SECONDS - 9 * 3600  # the patch nights leave the total
    sli = 100 * (counted - 1800) / counted
    lines = done.stdout.splitlines()
    assert lines[0] == "Muster GmbH  2026-10  (Europe/Berlin)"
    assert lines[1].split() == ["SLI", f"{sli:.4f}", "%", "target", "99.9000", "%", "met"]
    assert lines[2].split() == ["downtime", "30m", "00s"]
    # floor(2649.6) - 1800 s = 849 s of the closed month's 2649 s
    assert lines[3].split() == ["error", "budget", "14m", "09s", "left", "of", "44m", "09s", "for", "the",
                                "whole", "period", "(30m", "00s", "spent)"]
    assert lines[4].split()[:3] == ["counted", "30d", "16h"]  # 744 h + 1 h (DST) - 9 h of patch nights
    assert "SLI = (counted - downtime) / counted" in lines[4]
    outage = next(line for line in lines if line.startswith("2026-10-10"))
    assert outage.split()[:8] == ["2026-10-10", "14:00", "CEST", "2026-10-10", "14:30", "CEST", "30m", "00s"]
    assert outage.split()[8:11] == ["web01", "app", "CRITICAL"] and outage.rstrip().endswith("P1 resolved")


def test_availability_as_json(system: System) -> None:
    done = fernwart("availability", "--customer", CUSTOMER, "--month", "2026-10", "--json", env=system.env())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # patch night on four Sundays, two hours each, three on the night DST ends (Oct 25): not counted
    assert (report["maintenance_seconds"], report["downtime_seconds"]) == (9 * 3600, 1800)
    assert report["counted_seconds"] == OCT_BERLIN_SECONDS - 9 * 3600
    assert report["error_budget_seconds"] == 849  # floor(2649600 s * 0.001) - 1800, whole seconds
    [outage] = report["outages"]
    assert [(t["check"], t["priority"], t["state"]) for t in outage["tickets"]] == [("app", "P1", "resolved")]


def test_tickets_listing_and_acknowledging_with_a_message(system: System) -> None:
    system.report([("db", 2, datetime.now(UTC) - timedelta(seconds=5))])
    listed = fernwart("tickets", "--json", env=system.env())
    assert listed.returncode == 0, listed.stderr
    [db_ticket] = [t for t in json.loads(listed.stdout) if t["check"] == "db"]
    table = fernwart("tickets", "--state", "all", env=system.env())
    rows = [line.split() for line in table.stdout.splitlines()]
    assert rows[0][:4] == ["ID", "PRIO", "LEVEL", "STATE"]
    assert [r[:7] for r in rows[1:]] == [
        [f"#{db_ticket['id']}", "P1", "L1", "new", "web01", "db", "CRITICAL"],
        [f"#{db_ticket['id'] - 1}", "P1", "L1", "resolved", "web01", "app", "CRITICAL"],
    ]
    acked = fernwart("ack", str(db_ticket["id"]), "-m", "looking at it", env=system.env())
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout.strip() == f"#{db_ticket['id']} acknowledged: now acknowledged, level 1"
    shown = json.loads(fernwart("ticket", str(db_ticket["id"]), "--json", env=system.env()).stdout)
    assert ("acknowledged", "alice", "looking at it") in [(e["kind"], e["actor"], e["message"])
                                                        for e in shown["events"]]
    again = fernwart("ack", str(db_ticket["id"]), env=system.env())
    assert again.returncode == 1 and again.stderr.startswith("fernwart: ")


def test_checks_by_host_name(system: System) -> None:
    done = fernwart("checks", "web01", env=system.env())
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["CHECK", "app", "db", "host"]
    missing = fernwart("checks", "nope01", env=system.env())
    assert (missing.returncode, missing.stderr) == (1, "fernwart: host 'nope01' not found\n")


def test_a_bad_token_exits_1_with_the_collectors_message(system: System) -> None:
    done = fernwart("hosts", env=system.env(FERNWART_TOKEN="fwu_not-a-token"))
    assert (done.returncode, done.stderr, done.stdout) == (1, "fernwart: unknown API token\n", "")


def test_an_unreachable_collector_exits_1(system: System) -> None:
    done = fernwart("hosts", env=system.env(FERNWART_URL="http://127.0.0.1:9"))
    assert done.returncode == 1 and "cannot reach the collector at http://127.0.0.1:9" in done.stderr
    # which URL was tried and what to check, not only the exception's class name
    assert "GET http://127.0.0.1:9/api/v1/hosts" in done.stderr and "is it running" in done.stderr


def test_a_wrong_collector_path_says_which_url_answered_404(system: System) -> None:
    wrong = system.env()["FERNWART_URL"] + "/fernwart"
    done = fernwart("hosts", env=system.env(FERNWART_URL=wrong))
    assert done.returncode == 1
    assert f"GET {wrong}/api/v1/hosts: 404 Not Found; is {wrong} the collector's address" in done.stderr


def test_output_into_a_closed_pipe_ends_quietly(system: System) -> None:
    # `fernwart tickets --json | head`: the reader is gone before the client writes
    with subprocess.Popen([str(BIN / "fernwart"), "tickets", "--json"], env=system.env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_missing_configuration_exits_2(system: System) -> None:
    env = {k: v for k, v in system.env().items() if k not in ("FERNWART_URL", "FERNWART_TOKEN")}
    done = fernwart("hosts", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("fernwart: no collector URL: set FERNWART_URL or 'url:' in ")
    explicit = fernwart("--config", str(system.home / "absent.yaml"), "hosts", env=env)
    assert explicit.returncode == 2 and "cannot read config" in explicit.stderr


def test_config_file_must_be_private_when_it_holds_the_token(system: System, tmp_path: Path) -> None:
    env = {k: v for k, v in system.env().items() if k not in ("FERNWART_URL", "FERNWART_TOKEN")}
    config = tmp_path / "client.yaml"
    config.write_text(yaml.safe_dump({"url": system.collector.url, "token": system.token}))
    config.chmod(0o644)
    refused = fernwart("--config", str(config), "hosts", env=env)
    assert refused.returncode == 2 and f"run: chmod 600 {config}" in refused.stderr
    config.chmod(0o600)
    done = fernwart("--config", str(config), "hosts", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert [h["name"] for h in json.loads(done.stdout)] == ["web01"]


def test_usage_errors_exit_2(system: System) -> None:
    assert fernwart("comment", "1", env=system.env()).returncode == 2  # -m is required
    both = fernwart("availability", "--customer", CUSTOMER, env=system.env())
    assert (both.returncode, both.stderr) == (2, "fernwart: give --month YYYY-MM, or both --from and --to\n")


def test_windows_add_and_list(system: System) -> None:
    added = fernwart("windows", "add", "--customer", CUSTOMER, "--name", "disk swap", "--scope", "host:web01",
                     "--from", "2030-01-05T10:00:00+01:00", "--to", "2030-01-05T12:00:00+01:00",
                     "--reason", "RMA", "--json", env=system.env())
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["to"] == "2030-01-05T11:00:00Z"
    listed = fernwart("windows", "list", "--customer", CUSTOMER, env=system.env())
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [r[1] for r in rows[1:]] == ["contract", "adhoc"]
    assert rows[2][2:5] == ["disk", "swap", "host:web01"] and "2030-01-05 10:00 CET" in listed.stdout


def test_contracts_round_trip_and_refusal(system: System, tmp_path: Path) -> None:
    got = fernwart("contracts", "get", "--customer", CUSTOMER, env=system.env())
    assert got.returncode == 0 and got.stdout.startswith("# Muster GmbH: revision 1, applied ")
    document: Any = yaml.safe_load(got.stdout)
    assert document["customers"][0]["contract"]["availability"]["target"] == 99.9
    document["customers"][0]["contract"]["timezone"] = "Mars/Olympus"
    document["customers"][0]["contract"]["colour"] = "red"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    refused = fernwart("contracts", "apply", str(bad), env=system.env())
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert lines[0] == "fernwart: contract refused, nothing changed:"
    assert any("contract.colour: unknown key" in line for line in lines[1:])
    assert any("contract.timezone:" in line for line in lines[1:])
    after = json.loads(fernwart("contracts", "get", "--json", env=system.env()).stdout)
    assert [(c["customer"], c["revision"]) for c in after] == [(CUSTOMER, 1)]


def test_monthly_report_as_pdf_file_and_json(system: System, tmp_path: Path) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "october.pdf"
    done = fernwart("report", "--customer", CUSTOMER, "--month", "2026-10", "--format", "pdf", "-o", str(pdf),
                    env=system.env())
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"wrote {pdf} (") and pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "target 99.9 % met: 99.93 %, 1 outage, 0 breaches" in text
    as_json = fernwart("report", "--customer", CUSTOMER, "--month", "2026-10", "--format", "json",
                       env=system.env())
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    served = json.loads(fernwart("availability", "--customer", CUSTOMER, "--month", "2026-10", "--json",
                                 env=system.env()).stdout)
    assert report["availability"]["sli"] == served["sli"]
    assert report["availability"]["error_budget_seconds"] == served["error_budget_seconds"]
    assert report["summary"] == "target 99.9 % met: 99.93 %, 1 outage, 0 breaches"


def test_monthly_report_refusals_exit_1_with_the_reason(system: System) -> None:
    bad = fernwart("report", "--customer", CUSTOMER, "--month", "2026-13", env=system.env())
    unknown = fernwart("report", "--customer", "Nobody AG", "--month", "2026-10", env=system.env())
    assert bad.returncode == 1
    assert bad.stderr.strip() == "fernwart: month: bad month '2026-13': expected YYYY-MM"
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "fernwart: customer 'Nobody AG' not found")


def test_monthly_report_revision_says_why(system: System) -> None:
    done = fernwart("report", "--customer", CUSTOMER, "--month", "2026-10", "--format", "json",
                    "--revise", "contract corrected", env=system.env())
    assert done.returncode == 0, done.stderr
    revision = json.loads(done.stdout)["revision"]
    assert revision["reason"] == "contract corrected" and revision["number"] >= 2
    assert revision["made_by"] == "alice"
def report_held_playbooks(system: System) -> dict[str, str]:
    """Report the shipped playbooks as the host's agent does at start; return the agent's headers."""
    from fernwart.agent.playbooks.library import held_entry, load_library
    from tests.support import REPO

    agent = {"Authorization": f"Bearer {system.agent_token}"}
    held = [held_entry(p) for p in load_library(REPO / "playbooks").playbooks.values()]
    r = requests.put(f"{system.collector.url}/api/v1/agent/playbooks", headers=agent, timeout=10,
                     json={"allow_repairs": False, "playbooks": held})
    assert r.status_code == 204, r.text
    return agent


def test_diag_run_queues_a_held_playbook_and_shows_its_result(system: System) -> None:
    agent = report_held_playbooks(system)
    url = system.collector.url
    queued = fernwart("diag", "run", "web01", "disk-full", "--param", "depth=3", "--json", env=system.env())
    assert queued.returncode == 0, queued.stderr
    job = json.loads(queued.stdout)
    assert (job["state"], job["params"]) == ("queued", {"mount": "/", "depth": 3})
    delivered = requests.get(f"{url}/api/v1/agent/jobs", params={"wait": 5}, headers=agent, timeout=10)
    assert delivered.json()["id"] == job["id"]
    step = {"name": "mounts", "kind": "collect", "status": "ok", "output": "/ 42% used", "duration": 0.2,
            "truncated": False, "exit_code": None}
    requests.post(f"{url}/api/v1/agent/jobs/{job['id']}/result", headers=agent, timeout=10,
                  json={"id": str(uuid.uuid4()), "state": "succeeded", "steps": [step]}).raise_for_status()
    shown = fernwart("diag", "show", job["id"], env=system.env())
    assert shown.returncode == 0, shown.stderr
    assert "disk-full v1 (diagnostic)" in shown.stdout and ": succeeded" in shown.stdout
    assert "== mounts [collect] ok 0.20s\n/ 42% used" in shown.stdout
    audit = fernwart("audit", env=system.env())
    assert "alice finished disk-full v1" in audit.stdout and "alice queued disk-full v1" in audit.stdout


def test_diag_run_refuses_a_repair_the_agent_does_not_allow(system: System) -> None:
    report_held_playbooks(system)
    done = fernwart("diag", "run", "web01", "rotate-logs", env=system.env())
    assert done.returncode == 1 and "does not allow repairs" in done.stderr
    bad = fernwart("diag", "run", "web01", "disk-full", "--param", "mount=/../etc", env=system.env())
    assert bad.returncode == 1 and "not a normalised path" in bad.stderr
