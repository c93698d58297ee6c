"""The agent's instance id and host facts: made and kept in the state directory, gathered, sent on change."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fernwart.agent.hostfacts import FactsReporter, addresses, digest, os_name, ssh_host_keys
from fernwart.agent.instance import INSTANCE_FILE, instance_id
from fernwart.agent.outbox import Outbox
from fernwart.agent.sender import Sender
from fernwart.agent.transport import CollectorLink, CollectorUnavailable, InstanceRefused, RequestRejected
from tests.agent.collector_stub import CollectorStub
from tests.agent.helpers import FakeClock
from tests.agent.test_sender import fill
from tests.support import require

CONFLICT = {"error": "host web01 is bound to another agent instance", "code": "instance_conflict"}


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    path = tmp_path / "machine-id"
    path.write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    return path


def test_the_instance_id_is_made_once_and_kept(tmp_path: Path, machine: Path) -> None:
    state = tmp_path / "state"
    first = instance_id(state, machine)
    assert instance_id(state, machine) == first
    stored = json.loads((state / INSTANCE_FILE).read_text())
    assert stored == {"instance_id": first, "machine_id": "3d1219c7c4c5404aaa1f6d2a48adfda4"}
    assert instance_id(tmp_path / "other-state", machine) != first  # another state directory, another id


def test_state_copied_to_a_machine_with_another_machine_id_gets_a_new_id(
    tmp_path: Path, machine: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    state = tmp_path / "state"
    first = instance_id(state, machine)
    machine.write_text("ffffffffffffffffffffffffffffffff\n")  # the clone's fresh machine id
    with caplog.at_level(logging.WARNING, logger="fernwart.agent.instance"):
        second = instance_id(state, machine)
    assert second != first and instance_id(state, machine) == second
    assert "made on another machine" in caplog.text


@pytest.mark.parametrize("content", ["", "{", '{"instance_id": "../x"}', "[1]"])
def test_a_broken_id_file_is_replaced(tmp_path: Path, machine: Path, content: str) -> None:
    (tmp_path / INSTANCE_FILE).write_text(content)
    made = instance_id(tmp_path, machine)
    assert json.loads((tmp_path / INSTANCE_FILE).read_text())["instance_id"] == made


def test_the_instance_header_goes_with_every_request_and_409_conflict_is_its_own_error(
    collector: CollectorStub,
) -> None:
    link = CollectorLink(collector.url, "fwa_tok", instance_id="0b6f3c1e-aaaa")
    try:
        link.post_json("/api/v1/reports", {})
        assert collector.requests[0].headers["X-Fernwart-Instance"] == "0b6f3c1e-aaaa"
        collector.responder = lambda r: (409, CONFLICT)
        with pytest.raises(InstanceRefused, match="bound to another agent instance"):
            link.send_json("PUT", "/api/v1/agent/facts", {})
        collector.responder = lambda r: (409, {"error": "some other conflict"})
        with pytest.raises(RequestRejected):  # only the named cause stops the agent
            link.post_json("/api/v1/reports", {})
    finally:
        link.close()


def test_the_sender_stops_on_an_instance_conflict_keeps_the_outbox_and_logs_once(
    collector: CollectorStub, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    collector.responder = lambda r: (409, CONFLICT)
    with Outbox(tmp_path / "outbox.sqlite") as box, caplog.at_level(logging.INFO):
        ids = fill(box, 3)
        link = CollectorLink(collector.url, "fwa_tok")
        sender = Sender(box, link, host_id="h", heartbeat_interval=60, clock=FakeClock())
        sender.run()  # returns: the loop ends at the refusal
        link.close()
        assert sender.conflict is not None and [e.id for e in box.peek(10)] == ids
        assert box.rejected() == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refuses this agent instance" in errors[0] and "reset-instance" in errors[0]
    assert len(collector.reports()) == 1


def test_os_release_gives_the_pretty_name(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nVERSION="12 (bookworm)"\nPRETTY_NAME="Debian GNU/Linux 12 '
                       '(bookworm)"\n# comment\nbroken line\n')
    assert os_name(release) == "Debian GNU/Linux 12 (bookworm)"
    release.write_text('NAME="Alpine"\nVERSION=3.19\n')
    assert os_name(release) == "Alpine 3.19"
    release.write_text('PRETTY_NAME="evil\x1b[31m' + "x" * 300 + '"\n')
    assert "\x1b" not in os_name(release) and len(os_name(release)) == 255


def test_addresses_leave_out_loopback_and_other_families() -> None:
    entry = SimpleNamespace
    fake = {
        "lo": [entry(family=socket.AF_INET, address="127.0.0.1"),
               entry(family=socket.AF_INET6, address="::1")],
        "eth0": [entry(family=socket.AF_INET, address="192.0.2.10"),
                 entry(family=socket.AF_INET6, address="fe80::1%eth0"),
                 entry(family=socket.AF_PACKET, address="52:54:00:12:34:56")],
        "bad name": [entry(family=socket.AF_INET, address="192.0.2.99")],
    }
    assert addresses(lambda: fake) == [{"interface": "eth0", "address": "192.0.2.10"},
                                       {"interface": "eth0", "address": "fe80::1"}]


def test_ssh_fingerprints_are_those_ssh_keygen_prints(tmp_path: Path) -> None:
    keygen = shutil.which("ssh-keygen")
    require(keygen is not None, "ssh-keygen (openssh-client) is not installed")
    assert keygen is not None
    for kind in ("ed25519", "ecdsa", "rsa"):
        subprocess.run([keygen, "-q", "-t", kind, "-N", "", "-f", str(tmp_path / f"ssh_host_{kind}_key")],
                       check=True, capture_output=True, timeout=60)
    (tmp_path / "ssh_host_junk_key.pub").write_text("ssh-ed25519 not-base64!!\n")
    expected = {}
    for kind in ("ed25519", "ecdsa", "rsa"):
        printed = subprocess.run([keygen, "-lf", str(tmp_path / f"ssh_host_{kind}_key.pub")], check=True,
                                 capture_output=True, text=True, timeout=60).stdout.split()
        key_type = (tmp_path / f"ssh_host_{kind}_key.pub").read_text().split()[0]
        expected[key_type] = printed[1]
    assert {k["type"]: k["fingerprint"] for k in ssh_host_keys(tmp_path)} == expected
    assert all(fp.startswith("SHA256:") for fp in expected.values())


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail

    def send_json(self, method: str, path: str, body: dict[str, Any]) -> None:
        if self.fail:
            raise CollectorUnavailable("down")
        self.sent.append(body)


@pytest.fixture
def facts() -> Iterator[dict[str, Any]]:
    yield {"agent_version": "1", "os": "x", "kernel": "k", "hostname": "h", "addresses": [],
           "ssh_host_keys": []}


def test_facts_are_sent_at_start_and_then_only_when_they_change(facts: dict[str, Any]) -> None:
    clock, link = FakeClock(), Recorder()
    current = dict(facts)
    reporter = FactsReporter(link, gather_facts=lambda: dict(current), clock=clock,  # type: ignore[arg-type]
                             every=600)
    reporter()
    assert link.sent == [facts]  # at start
    reporter()
    clock.advance(600)
    reporter()
    assert len(link.sent) == 1  # unchanged: gathered, not sent
    current["kernel"] = "k2"
    clock.advance(599)
    reporter()
    assert len(link.sent) == 1  # not due yet
    clock.advance(1)
    reporter()
    assert link.sent[-1]["kernel"] == "k2" and reporter.sent == digest(current)


def test_facts_that_could_not_be_sent_are_tried_again_soon(facts: dict[str, Any]) -> None:
    clock, link = FakeClock(), Recorder(fail=True)
    reporter = FactsReporter(link, gather_facts=lambda: facts, clock=clock,  # type: ignore[arg-type]
                             retry_after=60)
    reporter()
    assert reporter.sent is None
    link.fail = False
    clock.advance(59)
    reporter()
    assert link.sent == []
    clock.advance(1)
    reporter()
    assert link.sent == [facts]
