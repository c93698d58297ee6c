"""Housekeeping on real databases: raw results leave after their retention, downsampled; availability,
reports and duplicate detection see no difference."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fernwart.collector.domain.rollups import FIVE_MINUTES, HOURLY
from fernwart.collector.models import (
    CheckRollup,
    Customer,
    HostObservation,
    MetricRollup,
    Result,
    StateChange,
)
from fernwart.collector.services import availability, housekeeping, reports
from fernwart.collector.services.read.scope import CustomerRef
from tests.collector.api.contract_helpers import CUSTOMER, apply, contract
from tests.collector.helpers import BACKFILL, T0, Harness, harness, result
from tests.collector.services.test_availability import NOON, _silent_host

pytestmark = pytest.mark.usefixtures("database_url")
KEEP = housekeeping.Retention(results=timedelta(days=31))
OLD = T0 - timedelta(days=40)
LATER = T0 + housekeeping.RETRY_GRACE + timedelta(minutes=1)  # what was received at T0 is past its grace then


def _load(h: Harness, values: list[float]) -> list[str]:
    """Report check `load` once a minute from OLD with the given metric values; return the ids."""
    batch = []
    for i, value in enumerate(values):
        one = result("load", 2 if value > 5 else 0, OLD + timedelta(minutes=i), max_attempts=1)
        one["metrics"] = [{"label": "load1", "value": value, "uom": ""}, {"label": "note", "value": None}]
        batch.append(one)
    assert h.report("web01", batch).status_code == 200
    return [r["id"] for r in batch]


def _count(h: Harness, model: object) -> int:
    with h.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_old_results_are_downsampled_once_and_deleted_recent_ones_stay(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        h.enroll("web01")
        _load(h, [1.0, 2.0, 3.0, 4.0, 9.0, 0.5, 1.5])  # 7 minutes: two 5-minute buckets, one hour
        assert h.report("web01", [result("load", 0, T0)]).status_code == 200
        dry = housekeeping.run(h.sessions, LATER, KEEP, dry_run=True)
        assert dry is not None and dry.results_downsampled == 7
        assert "would downsample 7" in "\n".join(dry.lines())
        assert _count(h, Result) == 8 and _count(h, MetricRollup) == 0  # a dry run changes nothing
        done = housekeeping.run(h.sessions, LATER, KEEP, batch=3)  # several batches
        assert done is not None and done.results_downsampled == 7 and not done.more
        again = housekeeping.run(h.sessions, LATER, KEEP)
        assert again is not None and again.results_downsampled == 0
        with h.sessions() as db:
            left = db.scalars(select(Result.observed_at)).all()
            runs = {(r.resolution, r.bucket): (r.runs, r.not_ok) for r in db.scalars(select(CheckRollup))}
            metrics = {(m.resolution, m.bucket, m.metric): (m.samples, m.min, m.max, m.total)
                       for m in db.scalars(select(MetricRollup))}
    assert left == [T0]
    hour = OLD.replace(minute=0)
    assert runs == {(FIVE_MINUTES, OLD): (5, 1), (FIVE_MINUTES, OLD + timedelta(minutes=5)): (2, 0),
                    (HOURLY, hour): (7, 1)}
    assert metrics == {  # a metric without a value is skipped
        (FIVE_MINUTES, OLD, "load1"): (5, 1.0, 9.0, 19.0),
        (FIVE_MINUTES, OLD + timedelta(minutes=5), "load1"): (2, 0.5, 1.5, 2.0),
        (HOURLY, hour, "load1"): (7, 0.5, 9.0, 21.0),
    }


def test_monthly_check_runs_are_the_same_after_the_raw_results_are_gone(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract())
        h.enroll("web01", CUSTOMER)
        _load(h, [1.0, 7.0, 2.0])
        month = f"{OLD:%Y-%m}"

        def check_runs() -> object:
            with h.sessions() as db:
                found = db.scalar(select(Customer.id).where(Customer.name == CUSTOMER))
                customer = CustomerRef(int(found or 0), CUSTOMER)
                return reports.monthly(db, customer, month, T0)["checks"]

        before = check_runs()
        assert before == [{"type": "plugin", "runs": 3, "hosts": 1, "not_ok": 1}]
        assert housekeeping.run(h.sessions, LATER, KEEP) is not None
        assert _count(h, Result) == 0
        assert check_runs() == before


@pytest.mark.parametrize("replay", [False, True], ids=["agent-stopped", "agent-cut-off"])
def test_silence_figures_are_the_same_after_the_raw_results_are_gone(database_url: str, replay: bool) -> None:
    rules = {"target": 99.9, "counts": ["check:app"], "no_data": "down"}
    with harness(database_url, result_max_age=BACKFILL) as h:
        apply(h, contract(availability=rules))
        _silent_host(h, replay)

        def figures() -> object:
            with h.sessions() as db:
                return availability.report(db, CUSTOMER, NOON, NOON + timedelta(hours=1), T0).report.figures

        before = figures()
        outcome = housekeeping.run(h.sessions, LATER, KEEP)
        assert outcome is not None and outcome.results_downsampled > 0
        assert _count(h, Result) == 0 and _count(h, HostObservation) > 0
        assert figures() == before
    assert before.downtime_seconds == (0 if replay else 30 * 60)  # type: ignore[attr-defined]


def test_state_changes_past_the_history_leave_but_the_state_at_the_cut_stays(database_url: str) -> None:
    keep = housekeeping.Retention(results=timedelta(days=31), five_minute=timedelta(days=35),
                                  history=timedelta(days=38))
    with harness(database_url, result_max_age=BACKFILL) as h:
        h.enroll("web01")
        _load(h, [9.0, 1.0, 9.0, 1.0])  # HARD changes 40 days ago, the last one OK
        with h.sessions() as db:
            of_load = StateChange.check_name == "load"
            changes = db.scalar(select(func.count()).select_from(StateChange).where(of_load))
        outcome = housekeeping.run(h.sessions, LATER, keep)
        assert outcome is not None
        with h.sessions() as db:
            kept = db.execute(select(StateChange.status, StateChange.at).where(of_load)).all()
    assert changes == 4 and outcome.state_changes_deleted == 3
    assert [tuple(k) for k in kept] == [(0, OLD + timedelta(minutes=3))]  # the newest, which holds till now
    # 40 days old, past both: one bucket each of check runs and of the metric
    assert outcome.rollups_deleted == {FIVE_MINUTES: 2, HOURLY: 2}


def test_a_retried_report_is_not_stored_twice_after_housekeeping(database_url: str) -> None:
    with harness(database_url, result_max_age=BACKFILL) as h:
        h.enroll("web01")
        body = [result("load", 0, T0 - timedelta(minutes=1)), result("load", 0, T0 + timedelta(hours=2))]
        assert h.report("web01", body).json()["accepted"] == 2  # the second one's time is clamped
        assert housekeeping.run(h.sessions, LATER, KEEP) is not None
        h.clock.advance(hours=3)  # the agent's clock is right by now: the retry's time is not clamped
        assert h.report("web01", body).json()["accepted"] == 0
        assert _count(h, Result) == 2


def test_the_command_prints_what_it_would_do_then_does_it(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from fernwart.collector.cli import main
    from fernwart.collector.models import utcnow

    with harness(database_url, result_max_age=BACKFILL) as h:
        h.clock.now = utcnow() - timedelta(days=2)  # received two days ago: past the retry grace
        h.enroll("web01")
        old = [result("load", 0, h.clock.now - timedelta(days=40, minutes=i)) for i in range(4)]
        assert h.report("web01", [*old, result("load", 0, h.clock.now)]).json()["accepted"] == 5
        assert main(["housekeeping", "--dry-run", "--database", database_url]) == 0
        dry = capsys.readouterr().out
        assert _count(h, Result) == 5
        assert main(["housekeeping", "--database", database_url]) == 0
        done = capsys.readouterr().out
        assert _count(h, Result) == 1
    assert ": would downsample 4 into 5-minute and hourly rollups" in dry
    assert ": downsample 4 into 5-minute and hourly rollups" in done and "would" not in done


def test_the_periodic_job_runs_housekeeping_in_its_own_thread(database_url: str) -> None:
    import time

    from fernwart.collector.domain.tickets import TicketPolicy
    from fernwart.collector.jobs import JobRunner

    with harness(database_url, result_max_age=BACKFILL) as h:
        h.enroll("web01")
        _load(h, [1.0, 2.0])
        runner = JobRunner(h.sessions, 0.05, TicketPolicy(), lambda: LATER, retention=KEEP,
                           housekeeping_interval=0.05)
        runner.start()
        try:
            deadline = time.monotonic() + 60  # a condition, not a speed: usually met in well under a second
            while _count(h, Result) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            runner.stop()
        assert _count(h, Result) == 0 and _count(h, CheckRollup) == 2  # one 5-minute, one hourly


def test_a_late_result_past_its_retention_stays_until_a_retry_of_it_would_no_longer_come(
    database_url: str,
) -> None:
    with harness(database_url) as h:  # the protocol's result_max_age (35 days) is longer than 31
        h.enroll("web01")
        late = [result("load", 0, T0 - timedelta(days=33))]
        assert h.report("web01", late).json()["accepted"] == 1
        kept = housekeeping.run(h.sessions, T0 + timedelta(hours=1), KEEP)
        assert kept is not None and kept.results_downsampled == 0
        assert h.report("web01", late).json()["accepted"] == 0  # the response was lost: the retry is seen
        gone = housekeeping.run(h.sessions, LATER, KEEP)
        assert gone is not None and gone.results_downsampled == 1 and _count(h, Result) == 0


def test_retention_settings_come_from_the_environment_and_fail_fast() -> None:
    from fernwart.collector.settings import SettingsError, from_env

    settings = from_env({"FERNWART_RETAIN_RESULTS_DAYS": "7", "FERNWART_RETAIN_HISTORY_DAYS": "400"})
    kept = settings.retention()
    assert (kept.results, kept.five_minute, kept.history) == (
        timedelta(days=7), timedelta(days=93), timedelta(days=400))
    with pytest.raises(SettingsError, match="FERNWART_RETAIN_"):
        from_env({"FERNWART_RETAIN_RESULTS_DAYS": "100"})  # longer than the 5-minute rollups' 93 days
    with pytest.raises(SettingsError, match="at least a day"):
        from_env({"FERNWART_RETAIN_RESULTS_DAYS": "0.5"})
