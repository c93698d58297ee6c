"""The sender against a real `fernwart-collector serve` process: refusals it really answers (422, 401)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from fernwart.agent.enroll import enroll
from fernwart.agent.instance import instance_id
from fernwart.agent.outbox import Outbox
from fernwart.agent.sender import Sender
from fernwart.agent.transport import CollectorLink
from fernwart.checks.probe import utc_now
from fernwart.checks.status import Status
from tests.agent.helpers import FakeClock, stamped
from tests.e2e.processes import Api, Collector

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def real_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Collector, Api]]:
    collector = Collector(tmp_path_factory.mktemp("collector"))
    admin = collector.cli("user", "add", "tech", "--role", "level1")
    try:
        collector.start()
        yield collector, Api(collector.url, admin)
    finally:
        collector.stop()


def enrolled(collector: Collector, directory: Path) -> tuple[str, str]:
    token = collector.cli("token", "create", "--customer", "Muster GmbH", "--uses", "1")
    host = enroll(collector.url, token, directory / "agent.yaml", hostname=directory.name,
                  listening_ports=set)
    return host.host_id, host.token_path.read_text().strip()


def fill(box: Outbox, checks: list[str]) -> list[str]:
    start = utc_now() - timedelta(minutes=5)
    return [box.put(stamped(Status.OK, f"r{i}", start + timedelta(seconds=i)), check=name, check_type="t",
                    interval=60, max_attempts=3) for i, name in enumerate(checks)]


def sender(box: Outbox, link: CollectorLink, host_id: str) -> Sender:
    return Sender(box, link, host_id=host_id, heartbeat_interval=60, batch_size=8, clock=FakeClock(),
                  rand=lambda: 1.0)


def test_poisoned_result_in_the_middle_is_set_aside_and_the_rest_arrive_once(
    real_collector: tuple[Collector, Api], tmp_path: Path,
) -> None:
    collector, api = real_collector
    host_id, token = enrolled(collector, tmp_path / "poisoned")
    names = ["disk", "load", "not a check name!", "mem", "swap"]
    instance = instance_id(tmp_path / "poisoned" / "state")  # the enrolled instance, as `run` sends it
    link_of_host = CollectorLink(collector.url, token, instance_id=instance)
    with Outbox(tmp_path / "outbox.sqlite") as box, closing(link_of_host) as link:
        ids = fill(box, names)
        sender(box, link, host_id).step()
        assert box.count() == 0
        (rejected,) = box.rejected()
        assert rejected.id == ids[2] and rejected.status == 422 and "check" in rejected.error
    stored = api.get(f"/api/v1/hosts/{host_id}/results", limit=100)
    assert sorted(r["id"] for r in stored) == sorted(ids[:2] + ids[3:])  # each exactly once


def test_refused_token_stops_sending_without_loss(
    real_collector: tuple[Collector, Api], tmp_path: Path,
) -> None:
    collector, api = real_collector
    host_id, _ = enrolled(collector, tmp_path / "revoked")
    wrong = CollectorLink(collector.url, "fwa_wrong")
    with Outbox(tmp_path / "outbox.sqlite") as box, closing(wrong) as link:
        ids = fill(box, ["disk", "load"])
        refusing = sender(box, link, host_id)
        assert refusing.step() == refusing.step() == 60.0
        assert refusing.refused is not None and refusing.refused.status == 401
        assert [e.id for e in box.peek(10)] == ids and box.rejected() == []
    assert api.get(f"/api/v1/hosts/{host_id}/results") == []
