from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fernwart.collector.domain.errors import SpecError
from fernwart.collector.domain.windows import MaintenanceWindow, Recurrence, Scope
from fernwart.protocol import HOST_CHECK
from tests.collector.domain.conftest import berlin, utc


def window(**spec: object) -> MaintenanceWindow:
    return MaintenanceWindow.parse({"name": "w", **spec}, "Europe/Berlin")


def test_weekly_window_in_local_time_across_spring_forward() -> None:
    patch = window(every="sun 02:00-04:00")
    assert patch.occurrences(utc(2026, 3, 20), utc(2026, 4, 1)) == [
        (utc(2026, 3, 22, 1), utc(2026, 3, 22, 3)),
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)),  # 02:00 does not exist: one real hour
    ]


def test_weekly_window_on_fall_back_night_lasts_three_hours() -> None:
    patch = window(every="sun 02:00-04:00")
    assert patch.occurrences(utc(2026, 10, 24), utc(2026, 10, 26)) == [
        (utc(2026, 10, 25), utc(2026, 10, 25, 3))
    ]


def test_window_crossing_midnight_and_clipping() -> None:
    backups = window(every="mon,wed 22:00-02:00")
    # From Tue 2026-03-03 00:00: the tail of Monday night's occurrence, Wednesday night, next Monday night.
    assert backups.occurrences(berlin(2026, 3, 3), berlin(2026, 3, 9, 23)) == [
        (berlin(2026, 3, 3), berlin(2026, 3, 3, 2)),
        (berlin(2026, 3, 4, 22), berlin(2026, 3, 5, 2)),
        (berlin(2026, 3, 9, 22), berlin(2026, 3, 9, 23)),
    ]
    # The Monday night occurrence reaches into Tuesday morning, a query starting then still sees it.
    assert backups.occurrences(berlin(2026, 3, 3, 1), berlin(2026, 3, 3, 5)) == [
        (berlin(2026, 3, 3, 1), berlin(2026, 3, 3, 2))
    ]


def test_daily_window() -> None:
    rotate = window(every="daily 01:00-01:30")
    assert len(rotate.occurrences(berlin(2026, 3, 1), berlin(2026, 4, 1))) == 31


def test_one_off_window_in_contract_timezone_or_with_offset() -> None:
    upgrade = window(**{"from": "2026-12-05T18:00", "to": "2026-12-06T06:00"})
    assert (upgrade.starts_at, upgrade.ends_at) == (utc(2026, 12, 5, 17), utc(2026, 12, 6, 5))
    explicit = window(**{"from": "2026-07-01T18:00+00:00", "to": "2026-07-01T20:00Z"})
    assert explicit.occurrences(utc(2026, 7, 1, 19), utc(2026, 7, 2)) == [
        (utc(2026, 7, 1, 19), utc(2026, 7, 1, 20))
    ]


def test_covers_checks_scope_and_time() -> None:
    erp = window(**{"from": "2026-12-05T18:00", "to": "2026-12-06T06:00", "scope": "host:erp*"})
    inside = berlin(2026, 12, 5, 20)
    assert erp.covers("erp01", HOST_CHECK, inside)
    assert erp.covers("erp01", "disk", inside)
    assert not erp.covers("web01", HOST_CHECK, inside)
    assert not erp.covers("erp01", HOST_CHECK, berlin(2026, 12, 6, 6))  # the end is outside
    check_only = window(every="daily 00:00-24:00", scope="check:http-*")
    assert check_only.covers("web01", "http-shop", inside)
    assert not check_only.covers("web01", HOST_CHECK, inside)
    both = window(every="daily 00:00-24:00", scope="host:db1/check:backup")
    assert both.covers("db1", "backup", inside) and not both.covers("db2", "backup", inside)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"from": "2026-12-06T06:00", "to": "2026-12-05T18:00"}, "ends .* before it starts"),
        ({"from": "2026-12-06T06:00", "to": "2026-12-06T06:00"}, "before it starts"),
        ({"from": "2026-12-06T06:00"}, "needs both"),
        ({"every": "sun 02:00-04:00", "from": "2026-12-06T06:00", "to": "2026-12-07T06:00"}, "either"),
        ({"every": "sunday 02:00-04:00"}, "bad day"),
        ({"every": "sun 02:00-02:00"}, "start and end are equal"),
        ({"every": "sun"}, "bad recurrence"),
        ({"every": "sun 02:00-04:00", "scope": "hosts:x"}, "bad scope"),
        ({"every": "sun 02:00-04:00", "scope": "host:"}, "bad scope"),
        ({"every": "sun 02:00-04:00", "colour": "red"}, "unknown key 'colour'"),
        ({"every": "sun 02:00-04:00", "sla_relevant": "yes"}, "sla_relevant"),
        ({"from": "next week", "to": "2026-12-06T06:00"}, "bad time"),
    ],
)
def test_bad_windows_are_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        window(**spec)


def test_scope_and_recurrence_parsing() -> None:
    assert Scope.parse("all") == Scope()
    assert str(Scope.parse("host:web*/check:http")) == "host:web*/check:http"
    assert Recurrence.parse("mon,wed 22:00-02:00").length == 4 * 3600
    assert Recurrence.parse("sat 22:00-24:00").length == 2 * 3600


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["sun 02:00-04:00", "mon,wed 22:00-02:00", "daily 01:00-01:30", "fri-mon 23:30-00:30"]),
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    st.integers(1, 40 * 86400),
)
def test_occurrences_lie_in_the_range_and_agree_with_covers(every: str, start: datetime, length: int) -> None:
    w = window(every=every)
    begin = start.replace(tzinfo=UTC)
    end = begin + timedelta(seconds=length)
    found = w.occurrences(begin, end)
    assert all(begin <= a < b <= end for a, b in found)
    assert all(x[1] < y[0] for x, y in zip(found, found[1:], strict=False))
    for a, b in found:
        assert w.covers("h", HOST_CHECK, a) and w.covers("h", HOST_CHECK, b - timedelta(microseconds=1))
