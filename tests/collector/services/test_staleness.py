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


def silence(h: Harness, customer: str, count: int) -> list[str]:
    """Enroll `count` hosts of `customer` that report once (heartbeat 60 s) and return their names."""
    names = [f"{customer}{n:02d}" for n in range(count)]
    for name in names:
        h.enroll(name, customer)
        h.report(name, [], heartbeat_interval=60)
    return names


def sweep_for(h: Harness, seconds: int) -> None:
    """Sweep every 10 s for `seconds` (sweeps that find nothing stale yet)."""
    for _ in range(seconds // 10):
        assert sweep(h) == ()
        h.clock.advance(seconds=10)


def test_a_mass_silence_of_one_customer_opens_one_incident_and_still_marks_every_host(
    database_url: str,
) -> None:
    with harness(database_url) as h:
        acme = silence(h, "acme", 12)
        beta = silence(h, "beta", 12)
        sweep_for(h, 180)
        for name in beta:  # beta keeps reporting: 12 of 24 silent is not more than half of all hosts
            h.report(name, [])
        h.clock.advance(seconds=10)
        with h.sessions() as db:
            outcome = staleness.sweep(db, h.clock.now, INTERVAL, TicketPolicy())
            db.commit()
        assert len(outcome.marked) == 12
        [incident] = outcome.incidents
        assert incident.silent == tuple(acme) and incident.total == 12
        assert outcome.tickets_opened == 1
        states = {host["name"]: host["state"] for host in h.get("/api/v1/hosts")}
        assert {states[n] for n in acme} == {"unreachable"} and {states[n] for n in beta} == {"up"}
        [ticket] = h.get("/api/v1/tickets")
        assert ticket["check"] == staleness.MASS_SILENCE
        assert ticket["title"] == "Mass silence: 12 of 12 hosts stopped reporting"
        detail = h.get(f"/api/v1/tickets/{ticket['id']}")
        assert "acme00, acme01" in str(detail) and "12 of 12" in str(detail)


def test_silence_below_the_share_or_the_minimum_opens_one_ticket_per_host(database_url: str) -> None:
    with harness(database_url) as h:
        silent = silence(h, "acme", 5)  # all silent, but fewer than 10 hosts: no mass silence
        sweep_for(h, 180)
        with h.sessions() as db:
            outcome = staleness.sweep(db, h.clock.now, INTERVAL, TicketPolicy())
            db.commit()
        assert sorted(outcome.marked) == sorted(h.hosts[n][0] for n in silent)
        assert outcome.incidents == () and outcome.tickets_opened == 5
        assert sorted(t["host"] for t in h.get("/api/v1/tickets")) == silent


def test_a_mass_silence_across_all_hosts_continues_past_the_cap_without_per_host_tickets(
    database_url: str,
) -> None:
    with harness(database_url) as h:
        silence(h, "acme", 6)
        silence(h, "beta", 6)  # neither customer reaches 10 hosts; all 12 together do
        sweep_for(h, 180)
        with h.sessions() as db:
            resumed_at = staleness.begin(db, h.clock.now, INTERVAL)
            [incident] = staleness.plan_incidents(db, h.clock.now, resumed_at, staleness.SilenceRule())
            first = staleness.mark_batch(db, h.clock.now, resumed_at, TicketPolicy(), limit=5)
            db.commit()
        assert incident.customer_id is None and len(incident.silent) == 12
        assert len(first.marked) == 5 and first.more
        h.clock.advance(seconds=10)
        with h.sessions() as db:  # the next run: the incident is open, no second one, no per-host tickets
            rest = staleness.sweep(db, h.clock.now, INTERVAL, TicketPolicy())
            db.commit()
        assert len(rest.marked) == 7 and rest.incidents == () and rest.tickets_opened == 0
        assert [t["check"] for t in h.get("/api/v1/tickets")] == [staleness.MASS_SILENCE_ALL]


def test_many_hosts_marked_at_once_get_the_same_states_changes_and_tickets_as_one_by_one(
    database_url: str,
) -> None:
    from sqlalchemy import select

    from fernwart.checks.status import Status
    from fernwart.collector.models import CHECK_STATES, STATE_CHANGES, Host
    from fernwart.collector.services import checkstate
    from fernwart.collector.services.ingest import reachability

    with harness(database_url) as h:
        names = silence(h, "acme", 4)
        policy, quiet = TicketPolicy(), TicketPolicy(open_on=frozenset())
        at = h.clock.advance(seconds=200)
        with h.sessions() as db:  # acme00 already has its own open host ticket
            [first] = db.scalars(select(Host).where(Host.name == names[0]))
            checkstate.apply(db, first, [reachability(Status.CRITICAL, "down", at)], at, policy)
            keep_open = TicketPolicy(resolve_on_recovery=False)
            checkstate.apply(db, first, [reachability(Status.OK, "up", at)], at, keep_open)
            db.commit()
        at = h.clock.advance(seconds=10)
        with h.sessions() as db:
            hosts = {host.name: host for host in db.scalars(select(Host).order_by(Host.name))}
            items = [
                (hosts[n], reachability(Status.CRITICAL, f"{n} silent", at), quiet) for n in names
            ]
            items[1] = (items[1][0], items[1][1], policy)
            outcome = checkstate.apply_many(db, items, at)
            db.commit()
            states = {
                r.host_id: (r.status, r.state_type, r.last_summary)
                for r in db.execute(select(CHECK_STATES).where(CHECK_STATES.c.check_name == "host"))
            }
            changes = db.execute(
                select(STATE_CHANGES.c.host_id).where(
                    STATE_CHANGES.c.at == at, STATE_CHANGES.c.status == 2
                )
            ).scalars().all()
        assert outcome.state_changes == 4 and outcome.tickets_opened == 1  # acme01 has the normal policy
        assert [states[hosts[n].id] for n in names] == [(2, "HARD", f"{n} silent") for n in names]
        assert sorted(changes) == sorted(hosts[n].id for n in names)
        tickets = {(t["host"], t["state"]) for t in h.get("/api/v1/tickets")}
        # acme00's open ticket took the single path (updated, still one); acme01 opened one; the rest none
        assert {host for host, _ in tickets} == {names[0], names[1]}
