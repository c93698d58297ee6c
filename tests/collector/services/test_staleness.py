"""The staleness sweep on a real database: unreachable hosts, their tickets, and the restart grace."""

from __future__ import annotations

from datetime import timedelta

from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.services import staleness
from tests.collector.helpers import Harness, harness, result

INTERVAL = timedelta(seconds=10)


def sweep(h: Harness) -> tuple[str, ...]:
    with h.sessions() as db:
        outcome = staleness.sweep(db, h.clock.now, INTERVAL, TicketPolicy())
        db.commit()
    return outcome.marked


def test_silent_host_becomes_unreachable_with_a_ticket_and_recovers(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, _ = h.enroll("web01")
        assert sweep(h) == ()  # first sweep: sweeping "resumes" now
        h.report("web01", [], heartbeat_interval=60)
        for _ in range(17):  # keep sweeping every 10 s: 170 s < 180 s (3 heartbeats)
            h.clock.advance(seconds=10)
            assert sweep(h) == ()
        h.clock.advance(seconds=10)
        assert sweep(h) == (host_id,)
        assert h.get("/api/v1/hosts")[0]["state"] == "unreachable"
        tickets = h.get("/api/v1/tickets")
        assert [(t["check"], t["host"]) for t in tickets] == [("host", "web01")]
        h.clock.advance(seconds=10)
        assert sweep(h) == ()  # already unreachable: no second ticket
        h.report("web01", [result("disk", 0, h.clock.advance(seconds=5))])
        assert h.get("/api/v1/hosts")[0]["state"] == "up"
        assert h.get("/api/v1/tickets") == []


def test_collector_outage_gives_agents_a_grace_period(database_url: str) -> None:
    with harness(database_url) as h:
        h.enroll("web01")
        sweep(h)
        h.report("web01", [], heartbeat_interval=60)
        h.clock.advance(hours=2)  # nobody swept for two hours: the collector was down
        assert sweep(h) == ()  # the host's last report is 2 h old, but sweeping just resumed
        for _ in range(17):  # regular sweeps again: 170 s of grace pass
            h.clock.advance(seconds=10)
            assert sweep(h) == ()
        assert h.get("/api/v1/hosts")[0]["state"] == "up"
        h.clock.advance(seconds=10)
        assert sweep(h) == (h.hosts["web01"][0],)  # 180 s after resuming: now it is stale


def test_deadline_is_never_before_the_resume_grace() -> None:
    from tests.collector.helpers import T0

    allowed = timedelta(seconds=180)
    assert staleness.deadline(T0, allowed, T0 - timedelta(hours=1)) == T0 + allowed
    assert staleness.deadline(T0 - timedelta(hours=5), allowed, T0) == T0 + allowed
