"""The availability service on real databases: HARD history only, one state-change query, outage tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event

from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.services import availability, staleness
from tests.collector.api.contract_helpers import CUSTOMER, OCT, apply, contract, history
from tests.collector.helpers import BACKFILL, T0, Harness, harness, result

pytestmark = pytest.mark.usefixtures("database_url")
NOV = OCT + timedelta(days=31)


def _report(h: Harness) -> availability.CustomerAvailability:
    with h.sessions() as db:
        return availability.report(db, CUSTOMER, OCT, NOV, T0)


def test_soft_failures_are_not_downtime(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        h.enroll("web01", CUSTOMER)
        at = OCT + timedelta(days=3)
        soft = [result("app", status, at + timedelta(minutes=i), max_attempts=3)
                for i, status in enumerate((0, 2, 2, 0, 2, 2, 2, 0))]  # two soft failures, then a hard one
        assert h.report("web01", soft).status_code == 200
        found = _report(h)
    [outage] = found.report.outages
    assert (outage.start, outage.end) == (at + timedelta(minutes=6), at + timedelta(minutes=7))
    assert found.report.figures.downtime_seconds == 60


def test_state_changes_of_all_hosts_come_in_one_query(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        for name in ("web01", "web02", "web03", "db01"):
            h.enroll(name, CUSTOMER)
            history(h, name, "app", [(OCT - timedelta(days=1), 0), (OCT + timedelta(days=2), 2),
                                     (OCT + timedelta(days=2, minutes=5), 0)])
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = h.sessions.kw["bind"]
        event.listen(engine, "before_cursor_execute", record)
        try:
            found = _report(h)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "FROM state_changes" in s]) == 1
    assert [host.host for host in found.report.hosts] == ["db01", "web01", "web02", "web03"]
    assert found.report.figures.downtime_seconds == 4 * 300


def test_only_tickets_of_the_outages_objects_and_time_are_attached(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract(availability={"target": 99, "counts": ["host", "check:app"]}))
        h.enroll("web01", CUSTOMER)
        first, second = OCT + timedelta(days=1), OCT + timedelta(days=20)
        history(h, "web01", "app", [(OCT, 0), (first, 2), (first + timedelta(hours=1), 0),
                                    (second, 2), (second + timedelta(hours=1), 0)])
        history(h, "web01", "backup", [(OCT, 0), (first, 2), (first + timedelta(hours=1), 0)])  # not counted
        found = _report(h)
        tickets = {(t["check"], t["opened_at"]): t["id"] for t in h.get("/api/v1/tickets", state="all")}
    assert [o.objects for o in found.report.outages] == [("app",), ("app",)]
    assert [[t.id for t in refs] for refs in found.tickets] == [
        [tickets[("app", "2026-10-02T00:00:00Z")]], [tickets[("app", "2026-10-21T00:00:00Z")]]
    ]


# --- silence (issue 12 §2): a stopped agent is no data, a cut-off agent's replayed results win ----------

NOON = OCT + timedelta(days=9, hours=12)
SWEEP = timedelta(seconds=10)


def _silent_host(h: Harness, replay: bool) -> None:
    """Report app OK each minute up to 12:00 (stale after 180 s), go stale at 12:03, come back at 12:33.

    `replay`: the agent was only cut off and sends the results it kept observing; else it was stopped and
    its first result after restarting is observed at 12:33.
    """
    h.enroll("web01", CUSTOMER)
    h.clock.now = NOON
    minutes = [NOON - timedelta(minutes=10 - i) for i in range(11)]
    assert h.report("web01", [result("app", 0, at, max_attempts=1) for at in minutes],
                    heartbeat_interval=60).status_code == 200
    with h.sessions() as db:
        staleness.sweep(db, NOON, SWEEP, TicketPolicy())  # sweeping resumes
        db.commit()
    for _ in range(18):  # sweeps every 10 s: stale 180 s after the last report, at 12:03
        h.clock.advance(seconds=10)
        with h.sessions() as db:
            staleness.sweep(db, h.clock.now, SWEEP, TicketPolicy())
            db.commit()
    assert h.get("/api/v1/hosts")[0]["state"] == "unreachable"
    h.clock.now = NOON + timedelta(minutes=33)
    back = [NOON + timedelta(minutes=i) for i in range(1, 34)] if replay else [h.clock.now]
    assert h.report("web01", [result("app", 0, at, max_attempts=1) for at in back]).status_code == 200


@pytest.mark.parametrize("replay", [False, True], ids=["agent-stopped", "agent-cut-off"])
@pytest.mark.parametrize("no_data", ["exclude", "down"])
def test_silence_is_no_data_unless_real_results_are_replayed(
    database_url: str, replay: bool, no_data: str
) -> None:
    rules = {"target": 99.9, "counts": ["check:app"], "no_data": no_data}
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract(availability=rules))
        _silent_host(h, replay)
        with h.sessions() as db:
            found = availability.report(db, CUSTOMER, NOON, NOON + timedelta(hours=1), T0)
    figures = found.report.figures
    silent = 0 if replay else 30 * 60  # 12:03 to 12:33
    if no_data == "exclude":
        assert (figures.counted_seconds, figures.no_data_seconds, figures.downtime_seconds) == (
            3600 - silent, silent, 0)
        assert figures.sli == 100
    else:
        assert (figures.counted_seconds, figures.downtime_seconds) == (3600, silent)
        assert figures.error_budget_seconds == 3 - silent  # floor(3600 * 0.001) - downtime


def test_the_host_check_counts_its_unreachable_time_when_the_contract_lists_it(database_url: str) -> None:
    rules = {"target": 99.9, "counts": ["host", "check:app"], "no_data": "exclude"}
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract(availability=rules))
        _silent_host(h, replay=False)
        with h.sessions() as db:
            found = availability.report(db, CUSTOMER, NOON, NOON + timedelta(hours=1), T0)
    [host] = found.report.hosts
    objects = {o.name: o.figures for o in host.objects}
    assert objects["host"].downtime_seconds == 1800 and objects["app"].no_data_seconds == 1800
    assert host.figures.downtime_seconds == 1800  # the host is down while its reachability is


def test_business_hours_across_dst_and_good_friday_by_hand(database_url: str) -> None:
    """Hand-computed: Europe/Berlin mon-fri 08-18 with DE-RP holidays, 27 March to 6 April 2026.

    Service days: Fri 27 (07-17 UTC), Mon 30 to Thu 2 April (06-16 UTC, summer time from Sun 29), Good
    Friday 3 April and Easter Monday 6 April are holidays: 5 x 10 h = 180000 s. A CRITICAL from Fri 17:30
    to Mon 08:30 local is 30 + 30 min of downtime; a CRITICAL on Good Friday is outside service hours; one
    inside the upgrade window (Wed 10-12 local) is excluded with the window: counted 172800 s.
    """
    tz_start = datetime(2026, 3, 26, 23, tzinfo=UTC)  # 27 March 00:00 CET
    tz_end = datetime(2026, 4, 6, 22, tzinfo=UTC)  # 7 April 00:00 CEST
    document = contract(
        timezone="Europe/Berlin",
        service_hours={"mon-fri": "08:00-18:00", "holidays": "DE-RP"},
        availability={"target": 99.5, "counts": ["check:app"], "no_data": "exclude"},
        maintenance_windows=[
            {"name": "upgrade", "from": "2026-04-01T10:00", "to": "2026-04-01T12:00", "scope": "all"}
        ],
    )
    utc = partial(datetime, tzinfo=UTC)
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, document)
        h.enroll("erp01", CUSTOMER)
        history(h, "erp01", "app", [
            (utc(2026, 3, 20), 0),
            (utc(2026, 3, 27, 16, 30), 2), (utc(2026, 3, 30, 6, 30), 0),  # over the weekend and DST
            (utc(2026, 4, 1, 8, 30), 2), (utc(2026, 4, 1, 9, 30), 0),  # inside the window
            (utc(2026, 4, 3, 10), 2), (utc(2026, 4, 3, 12), 0),  # Good Friday
        ])
        with h.sessions() as db:
            found = availability.report(db, CUSTOMER, tz_start, tz_end, T0)
        apply(h, contract(**{**document["customers"][0]["contract"],
                             "availability": {"target": 99.5, "counts": ["check:app"],
                                              "maintenance_counts_as": "up"}}))
        with h.sessions() as db:
            old = availability.report(db, CUSTOMER, tz_start, tz_end, T0)
    f = found.report.figures
    assert (f.counted_seconds, f.downtime_seconds, f.maintenance_seconds) == (172800, 3600, 7200)
    assert f.outside_hours_seconds == 946800 - 180000
    assert f.sli == pytest.approx(100 * 169200 / 172800)  # 97.9167 %
    assert f.error_budget_seconds == 864 - 3600  # floor(172800 * 0.005) - 3600
    assert [(o.start, o.end) for o in found.report.outages] == [
        (utc(2026, 3, 27, 16, 30), utc(2026, 3, 27, 17)), (utc(2026, 3, 30, 6), utc(2026, 3, 30, 6, 30))]
    assert old.report.figures.sli == pytest.approx(98.0)  # (172800 + 7200 - 3600) / 180000
    assert old.report.figures.error_budget_seconds == 900 - 3600
