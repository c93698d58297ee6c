"""The agent's side of rotation and revocation, against the collector stub over real HTTP."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fernwart.agent.outbox import Outbox
from fernwart.agent.sender import Sender
from fernwart.agent.tokens import TokenKeeper
from fernwart.agent.transport import CollectorLink
from fernwart.checks.status import Status
from tests.agent.collector_stub import Answer, CollectorStub, Request
from tests.agent.helpers import FakeClock, stamped

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def link(collector: CollectorStub) -> Iterator[CollectorLink]:
    client = CollectorLink(collector.url, "fwa_old", timeout=(2, 5))
    yield client
    client.close()


def test_an_old_token_is_rotated_and_used_from_then_on(
    collector: CollectorStub, link: CollectorLink, tmp_path: Path,
) -> None:
    def answer(request: Request) -> Answer:
        if request.path == "/api/v1/agent/rotate":
            return 200, {"agent_token": "fwa_new"}
        return 200, {"accepted": 0, "duplicates": 0}

    collector.responder = answer
    token_file = tmp_path / "agent.token"
    token_file.write_text("fwa_old\n")
    keeper = TokenKeeper(token_file, link, timedelta(days=30), lambda: NOW)
    day = NOW.timestamp() - 29 * 86400
    os.utime(token_file, (day, day))
    keeper()
    assert collector.requests == []  # 29 days old: not yet
    day = NOW.timestamp() - 31 * 86400
    os.utime(token_file, (day, day))
    keeper()
    (rotation,) = collector.requests
    assert rotation.headers["Authorization"] == "Bearer fwa_old"
    assert token_file.read_text() == "fwa_new\n" and token_file.stat().st_mode & 0o777 == 0o600
    link.post_json("/api/v1/reports", {})
    assert collector.requests[-1].headers["Authorization"] == "Bearer fwa_new"


def test_a_token_file_changed_by_hand_is_picked_up(
    collector: CollectorStub, link: CollectorLink, tmp_path: Path,
) -> None:
    token_file = tmp_path / "agent.token"
    token_file.write_text("fwa_old\n")
    keeper = TokenKeeper(token_file, link, timedelta(days=30), lambda: NOW)
    token_file.write_text("fwa_by_hand\n")
    os.utime(token_file, (NOW.timestamp(), NOW.timestamp()))
    keeper()
    link.post_json("/api/v1/reports", {})
    assert collector.requests[-1].headers["Authorization"] == "Bearer fwa_by_hand"


def test_a_revoked_agent_stops_sending_keeps_its_outbox_and_says_so_once(
    collector: CollectorStub, link: CollectorLink, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    collector.responder = lambda request: (410, {"error": "host web01 was revoked at 2026-12-03T08:00:00"})
    with Outbox(tmp_path / "outbox.sqlite") as box:
        box.put(stamped(Status.OK), check="c", check_type="t", interval=60, max_attempts=3)
        sender = Sender(box, link, host_id="host-1", heartbeat_interval=60, clock=FakeClock())
        with caplog.at_level(logging.ERROR):
            sender.run()  # returns: the loop ends once the collector says "revoked"
        assert sender.revoked and box.count() == 1 and box.rejected() == []
    assert len(collector.requests) == 1
    (message,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "revoked this host (host web01 was revoked" in message and "1 result(s) kept" in message
