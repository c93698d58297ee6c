"""Status ordering, results, and the probe's real command runner."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from fernwart.checks.base import Finding, conclude
from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.probe import run_command
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status, worst
from tests.support import require_executable


def test_status_codes_and_worst() -> None:
    assert [Status.from_exit_code(c) for c in (0, 1, 2, 3, 4, -1)] == [*Status, None, None]
    assert worst([Status.OK, Status.UNKNOWN, Status.WARNING]) is Status.WARNING
    assert worst([Status.OK, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([]) is Status.OK
    assert Status.parse(" critical ") is Status.CRITICAL
    with pytest.raises(ValueError, match="unknown status 'bad'"):
        Status.parse("bad")


def test_result_stamping_and_plugin_text() -> None:
    result = CheckResult(Status.WARNING, "disk 85%", (PerfDatum("/", 85.0, "%", "80", "90"),), "detail")
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    stamped = result.stamped(local, 0.25)
    assert stamped.observed_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC) and stamped.duration == 0.25
    assert result.plugin_text() == "WARNING - disk 85% | /=85%;80;90\ndetail"
    with pytest.raises(ValueError, match="timezone-aware"):
        result.stamped(datetime(2026, 1, 1), 0.1)
    assert unknown("why").status is Status.UNKNOWN


def test_conclude_orders_problems_first_and_limits_the_summary() -> None:
    result = conclude([Finding(Status.OK, "a fine"), Finding(Status.WARNING, "b warn"),
                       Finding(Status.CRITICAL, "c crit")])
    assert (result.status, result.summary) == (Status.CRITICAL, "c crit; b warn")
    assert conclude([], empty="nothing").summary == "nothing"
    long = conclude([Finding(Status.WARNING, "x" * 600), Finding(Status.WARNING, "y" * 600)])
    assert len(long.summary) == 1000 and long.summary.endswith("...")


def test_run_command_output_exit_code_and_missing_program() -> None:
    sh = require_executable("sh")
    done = run_command([sh, "-c", "echo out; echo err >&2; exit 3"], timeout=5)
    assert (done.returncode, done.stdout, done.stderr, done.timed_out) == (3, "out\n", "err\n", False)
    missing = run_command(["/nonexistent/program"], timeout=5)
    assert (missing.returncode, missing.start_error) == (127, "/nonexistent/program: not found")
    killed = run_command([sh, "-c", "kill -9 $$"], timeout=5)
    assert killed.returncode == -9 and not killed.timed_out


def test_run_command_kills_the_whole_process_group_at_the_timeout() -> None:
    sh = require_executable("sh")
    started = time.monotonic()
    result = run_command([sh, "-c", "sleep 30 & sleep 30; echo never"], timeout=0.3)
    assert result.timed_out and result.returncode == -9
    assert time.monotonic() - started < 5  # the background sleep held the pipe: it was killed too
    assert "never" not in result.stdout
