"""Every shipped playbook (playbooks/*.yaml), run for real on this machine through the agent's runner.

Repairs run in their safe form (apply false, or against a unit that this host does not have); what the
host cannot tell (systemd not running in a container) must show up as text, not as a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fernwart.agent.playbooks.executor import execute, prepare
from fernwart.agent.playbooks.library import load_library
from fernwart.agent.playbooks.outcome import RunState, StepStatus
from tests.checks.servers import https_server, make_certificate
from tests.support import REPO

LIBRARY = load_library(REPO / "playbooks")
DIAGNOSTICS = ["disk-full", "high-load", "memory-pressure", "service-down", "network-reachability",
               "backup-freshness", "cert-expiry", "pending-updates", "host-overview"]
REPAIRS = ["restart-service", "clean-package-cache", "rotate-logs", "free-journal-space"]
pytestmark = pytest.mark.realhost


def test_every_shipped_playbook_is_valid_and_held() -> None:
    assert LIBRARY.problems == ()
    assert sorted(LIBRARY.playbooks) == sorted(DIAGNOSTICS + REPAIRS)
    assert {LIBRARY.playbooks[n].kind for n in REPAIRS} == {"repair"}


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"), "localhost")
    with https_server(cert, key) as port:
        yield port


def params_for(name: str, tmp_path: Path, tls_port: int) -> dict[str, object]:
    if name == "backup-freshness":
        (tmp_path / "nightly.tar.zst").write_bytes(b"x" * 2048)
        return {"directory": str(tmp_path), "pattern": "*.tar.zst"}
    if name == "cert-expiry":
        return {"host": "localhost", "port": tls_port}
    if name == "network-reachability":
        return {"host": "localhost", "port": tls_port}
    if name == "disk-full":  # a small tree: summing all of / takes most of a minute on a busy machine
        (tmp_path / "logs").mkdir()
        (tmp_path / "logs" / "big.log").write_bytes(b"x" * 65536)
        return {"mount": str(tmp_path)}
    if name in ("service-down", "restart-service"):
        return {"unit": "fernwart-test-nonexistent.service"}
    return {}


@pytest.mark.parametrize("name", DIAGNOSTICS + REPAIRS)
def test_shipped_playbook_runs_here(name: str, tmp_path: Path, tls_server: int) -> None:
    book = LIBRARY.playbooks[name]
    values = prepare(book, params_for(name, tmp_path, tls_server), digest=book.digest, allow_repairs=True)
    outcome = execute(book, values)
    assert outcome.duration <= book.timeout + 2
    statuses = {s.name: s.status for s in outcome.steps}
    ran = [s for s in outcome.steps if s.status != StepStatus.SKIPPED]
    assert ran and all(s.output.strip() for s in ran), outcome.to_dict()
    if name == "restart-service":  # there is no such unit (and maybe no systemd): the restart fails, said so
        assert outcome.state == RunState.FAILED and statuses["restart"] == StepStatus.FAILED
        assert statuses["after"] == StepStatus.SKIPPED
        return
    assert outcome.state == RunState.SUCCEEDED, outcome.to_dict()
    if name == "disk-full":
        assert "logs" in next(s.output for s in outcome.steps if s.name == "biggest-directories")
    if name == "cert-expiry":
        assert "days left" in outcome.steps[0].output
    if name == "backup-freshness":
        assert "nightly.tar.zst" in outcome.steps[0].output and outcome.steps[1].output.startswith("OK")
    if name in ("clean-package-cache", "rotate-logs"):
        assert StepStatus.SKIPPED in statuses.values()  # apply defaults to false: nothing was changed
