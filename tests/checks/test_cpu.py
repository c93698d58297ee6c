"""The cpu check on canned cpu_times samples."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace
from typing import Any

import pytest

from fernwart.checks.cpu import CpuCheck, shares
from fernwart.checks.status import Status
from tests.checks.fakes import make_probe

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def times(user: float, idle: float, iowait: float = 0.0, steal: float = 0.0, guest: float = 0.0) -> Times:
    return Times(user, 0.0, 0.0, idle, iowait, 0.0, 0.0, steal, guest, 0.0)


class Samples:
    """Returns the next canned sample on each cpu_times call (total and per core)."""

    def __init__(self, totals: list[Times], cores: list[list[Times]] | None = None) -> None:
        self.totals, self.cores = list(totals), list(cores or [])

    def cpu_times(self, percpu: bool = False) -> Any:
        return self.cores.pop(0) if percpu else self.totals.pop(0)


def test_shares_count_idle_and_iowait_as_not_busy_and_guest_not_twice() -> None:
    result = shares(times(100, 100), times(150, 130, iowait=20, steal=10, guest=40))
    assert result is not None
    assert result.busy == pytest.approx(100 * 60 / 110)
    assert result.iowait == pytest.approx(100 * 20 / 110)
    assert result.steal == pytest.approx(100 * 10 / 110)


def test_shares_none_when_no_time_passed_or_counters_went_back() -> None:
    assert shares(times(1, 1), times(1, 1)) is None
    assert shares(times(100, 100), times(50, 200)) is None


def test_first_run_samples_a_window_then_later_runs_use_deltas() -> None:
    slept: list[float] = []
    samples = Samples([times(0, 0), times(50, 50), times(140, 60)])
    probe = make_probe(psutil=samples, sleep=slept.append)
    check = CpuCheck.from_config({"window": 0.5})
    first = check.run(probe)
    assert slept == [0.5]
    assert (first.status, first.summary) == (Status.OK, "CPU 50.0% busy")
    second = check.run(probe)  # 90 of 100 busy: still OK, the default warning 90 alerts above 90
    assert slept == [0.5]
    assert second.metrics[0].value == 90.0
    assert second.status is Status.OK
    assert [m.label for m in second.metrics] == ["cpu", "iowait", "steal"]
    assert second.metrics[0].to_text() == "cpu=90%;90;95;0;100"


def test_thresholds_and_per_core() -> None:
    samples = Samples(
        [times(0, 0), times(50, 50)],
        [[times(0, 0), times(0, 0)], [times(99, 1), times(1, 99)]],
    )
    check = CpuCheck.from_config({"per_core": True}, warning="40", critical="95")
    result = check.run(make_probe(psutil=samples, sleep=lambda s: None))
    assert result.status is Status.CRITICAL
    assert result.summary == "core 0 99.0% busy; CPU 50.0% busy"
    assert [m.label for m in result.metrics] == ["cpu", "iowait", "steal", "cpu0", "cpu1"]


def test_counters_that_never_advance_are_unknown() -> None:
    samples = Samples([times(1, 1), times(1, 1)])
    result = CpuCheck.from_config().run(make_probe(psutil=samples, sleep=lambda s: None))
    assert result.status is Status.UNKNOWN


def test_window_is_bounded_by_the_timeout() -> None:
    slept: list[float] = []
    samples = Samples([times(0, 0), times(1, 1)])
    probe = make_probe(psutil=SimpleNamespace(cpu_times=samples.cpu_times), sleep=slept.append, timeout=1.0)
    CpuCheck.from_config({"window": 30}).run(probe)
    assert slept == [0.5]
