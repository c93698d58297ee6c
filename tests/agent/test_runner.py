from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fernwart.agent.config import CheckConfig, parse_config
from fernwart.agent.runner import CheckRunner
from fernwart.agent.watchdog import Watchdog
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult
from fernwart.checks.status import Status
from tests.agent.helpers import T0, FakeClock

HEAD = "collector: http://c\nhost_id: h\n"


def configured(entry: str) -> CheckConfig:
    return parse_config(HEAD + f"checks: [{entry}]", "agent.yaml").checks[0]


@pytest.fixture
def probe(tmp_path: Path) -> Probe:
    return Probe(state_dir=tmp_path, psutil=None, http=None)


def test_result_is_stamped_with_utc_finish_time_and_duration(probe: Probe) -> None:
    clock = FakeClock()
    times = iter([T0, T0 + timedelta(seconds=2)])

    class SlowMonotonic:
        def __call__(self) -> float:
            value = clock()
            clock.advance(0.25)
            return value

    runner = CheckRunner(
        configured("{name: v, type: t_value, interval: 60, value: 85}"), probe,
        now=lambda: next(times), monotonic=SlowMonotonic(),
    )
    result = runner.run()
    assert result.status == Status.WARNING and result.summary == "value is 85"
    assert result.observed_at == T0 + timedelta(seconds=2) and result.observed_at.tzinfo == UTC
    assert result.duration == 0.25


def test_exception_becomes_unknown_with_the_error(probe: Probe) -> None:
    result = CheckRunner(configured("{name: r, type: t_raise, interval: 60}"), probe).run()
    assert result.status == Status.UNKNOWN
    assert result.summary == "check failed: RuntimeError: sensor exploded"
    assert isinstance(result.observed_at, datetime)


def test_sys_exit_in_a_check_becomes_unknown_and_the_next_run_works(probe: Probe) -> None:
    runner = CheckRunner(configured("{name: v, type: t_value, interval: 60, value: 1}"), probe)
    run = runner.check.run

    def exits(p: Probe) -> object:
        raise SystemExit(3)

    runner.check.run = exits  # type: ignore[method-assign, assignment]
    result = runner.run()
    assert (result.status, result.summary) == (Status.UNKNOWN, "check failed: SystemExit: 3")
    runner.check.run = run  # type: ignore[method-assign]
    assert runner.run().status == Status.OK


def test_non_result_return_becomes_unknown(probe: Probe) -> None:
    runner = CheckRunner(configured("{name: v, type: t_value, interval: 60}"), probe)
    runner.check.run = lambda p: "OK"  # type: ignore[method-assign, assignment, return-value]
    result = runner.run()
    assert (result.status, result.summary) == (Status.UNKNOWN, "check returned str, not a CheckResult")


def test_hung_check_times_out_and_later_runs_are_skipped_while_it_hangs(
    probe: Probe, hang_release: None,
) -> None:
    runner = CheckRunner(configured("{name: h, type: t_hang, interval: 5, timeout: 0.2}"), probe, grace=0.05)
    started = time.monotonic()
    first = runner.run()
    assert time.monotonic() - started < 2
    assert (first.status, first.summary) == (Status.UNKNOWN, "check timed out after 0.2s")
    assert first.duration >= 0.2
    second = runner.run()
    assert second.status == Status.UNKNOWN and second.summary.startswith("check skipped: its run from ")
    assert "still hangs" in second.summary
    from tests.agent import fakes

    fakes.RELEASE.set()
    assert runner._hung is not None
    runner._hung[0].join(5)
    third = runner.run()
    assert (third.status, third.summary) == (Status.OK, "released")


def test_plugin_process_is_killed_at_the_timeout(probe: Probe) -> None:
    """Runs a real `sleep` process; the probe's command runner kills it at the check's timeout."""
    config = configured("{name: p, type: t_command, interval: 5, timeout: 0.3, command: [sleep, '30']}")
    started = time.monotonic()
    result = CheckRunner(config, probe).run()
    assert time.monotonic() - started < 3
    assert (result.status, result.summary) == (Status.UNKNOWN, "command killed after 0.3s")


def test_probe_carries_the_check_timeout(probe: Probe) -> None:
    config = configured("{name: p, type: t_command, interval: 60, timeout: 7, command: [sh, -c, 'exit 1']}")
    runner = CheckRunner(config, probe)
    assert runner._probe.timeout == 7.0
    assert runner.run().status == Status.WARNING


class Collected:
    """A `deliver` callback that records results and lets a test wait for them."""

    def __init__(self) -> None:
        self.results: list[tuple[str, object]] = []
        self.arrived = threading.Condition()

    def __call__(self, result: object) -> None:
        with self.arrived:
            self.results.append((threading.current_thread().name, result))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.results) >= count, timeout)


@pytest.fixture
def watchdog() -> Iterator[Watchdog]:
    dog = Watchdog()
    dog.start()
    yield dog
    dog.stop()


def test_watched_run_works_in_the_calling_thread_and_delivers_once(probe: Probe, watchdog: Watchdog) -> None:
    runner = CheckRunner(configured("{name: v, type: t_value, interval: 60, value: 85}"), probe)
    got = Collected()
    before = threading.active_count()
    runner.run_watched(watchdog, got)
    assert threading.active_count() == before  # no thread of its own
    [(thread, result)] = got.results
    assert thread == threading.current_thread().name
    assert isinstance(result, CheckResult) and result.status == Status.WARNING
    assert result.observed_at is not None and not runner.busy


def test_watched_hang_is_unknown_at_the_timeout_and_next_runs_are_skipped_while_it_hangs(
    probe: Probe, watchdog: Watchdog, hang_release: None,
) -> None:
    runner = CheckRunner(configured("{name: h, type: t_hang, interval: 5, timeout: 0.2}"), probe, grace=0.05)
    got = Collected()
    started = time.monotonic()
    worker = threading.Thread(target=runner.run_watched, args=(watchdog, got), daemon=True)
    worker.start()
    got.wait_for(1)
    assert 0.2 <= time.monotonic() - started < 2
    thread, first = got.results[0]
    assert thread == "fernwart-watchdog" and worker.is_alive()  # reported while the check still hangs
    assert isinstance(first, CheckResult)
    assert (first.status, first.summary) == (Status.UNKNOWN, "check timed out after 0.2s")
    assert first.duration >= 0.2 and not runner.busy
    runner.run_watched(watchdog, got)  # the next run, while the first still hangs: skipped at once
    _, second = got.results[1]
    assert isinstance(second, CheckResult) and second.status == Status.UNKNOWN
    assert second.summary.startswith("check skipped: its run from ") and "still hangs" in second.summary
    from tests.agent import fakes

    fakes.RELEASE.set()
    worker.join(5)
    assert len(got.results) == 2  # the late "released" result of the timed-out run is dropped
    runner.run_watched(watchdog, got)
    _, third = got.results[2]
    assert isinstance(third, CheckResult) and (third.status, third.summary) == (Status.OK, "released")


def test_watched_run_due_while_the_previous_is_within_its_deadline_is_skipped_silently(
    probe: Probe, watchdog: Watchdog, hang_release: None,
) -> None:
    runner = CheckRunner(configured("{name: h, type: t_hang, interval: 5, timeout: 5}"), probe)
    got = Collected()
    worker = threading.Thread(target=runner.run_watched, args=(watchdog, got), daemon=True)
    worker.start()
    deadline = time.monotonic() + 5
    while not runner.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runner.busy
    runner.run_watched(watchdog, got)
    assert got.results == []
    from tests.agent import fakes

    fakes.RELEASE.set()
    got.wait_for(1)
    worker.join(5)
    assert [r.summary for _, r in got.results] == ["released"]  # type: ignore[attr-defined]


def test_watched_exception_and_sys_exit_are_unknown(probe: Probe, watchdog: Watchdog) -> None:
    runner = CheckRunner(configured("{name: r, type: t_raise, interval: 60}"), probe)
    got = Collected()
    runner.run_watched(watchdog, got)
    [(_, result)] = got.results
    assert isinstance(result, CheckResult)
    assert (result.status, result.summary) == (Status.UNKNOWN, "check failed: RuntimeError: sensor exploded")
