from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fernwart.collector.domain.calendar import ServiceCalendar, local_text, parse_days, parse_spans, utc_text
from fernwart.collector.domain.errors import SpecError
from tests.collector.domain.conftest import berlin, utc

HOUR = 3600


def test_weekend_is_skipped(office: ServiceCalendar) -> None:
    # Fri 2026-03-06 16:00 CET + 4 h: two hours on Friday, two on Monday morning.
    assert office.add_business_time(berlin(2026, 3, 6, 16), 4 * HOUR) == utc(2026, 3, 9, 9)
    assert office.business_seconds(berlin(2026, 3, 6, 16), berlin(2026, 3, 9, 10)) == 4 * HOUR


def test_spring_forward_keeps_local_opening_hours(office: ServiceCalendar) -> None:
    # Clocks jump on Sunday 2026-03-29; Monday opens at 08:00 CEST = 06:00 UTC.
    assert office.add_business_time(berlin(2026, 3, 27, 16), 4 * HOUR) == utc(2026, 3, 30, 8)
    assert office.next_opening(utc(2026, 3, 28, 12)) == utc(2026, 3, 30, 6)


def test_fall_back_keeps_local_opening_hours(office: ServiceCalendar) -> None:
    # Clocks fall back on Sunday 2026-10-25; Monday opens at 08:00 CET = 07:00 UTC.
    assert office.add_business_time(berlin(2026, 10, 23, 16), 4 * HOUR) == utc(2026, 10, 26, 9)


def test_public_holiday_of_the_region_is_closed(office: ServiceCalendar) -> None:
    # Corpus Christi (Thu 2026-06-04) is a holiday in Rhineland-Palatinate, not in Berlin.
    assert office.is_closed(date(2026, 6, 4))
    assert office.add_business_time(berlin(2026, 6, 3, 17), 2 * HOUR) == berlin(2026, 6, 5, 9)
    state_of_berlin = ServiceCalendar.parse({"mon-fri": "08:00-18:00", "holidays": "DE-BE"}, "Europe/Berlin")
    assert state_of_berlin.add_business_time(berlin(2026, 6, 3, 17), 2 * HOUR) == berlin(2026, 6, 4, 9)


def test_one_day_ends_at_the_same_time_next_business_day_across_a_month_end(office: ServiceCalendar) -> None:
    one_day = office.service_day_seconds
    assert one_day == 10 * HOUR
    assert office.add_business_time(berlin(2026, 7, 31, 17), one_day) == berlin(2026, 8, 3, 17)


def test_used_up_span_ends_at_closing_not_next_opening(office: ServiceCalendar) -> None:
    assert office.add_business_time(berlin(2026, 3, 9, 8), 10 * HOUR) == berlin(2026, 3, 9, 18)


def test_start_outside_hours_begins_at_next_opening(office: ServiceCalendar) -> None:
    assert office.add_business_time(berlin(2026, 3, 7, 11), 30 * 60) == berlin(2026, 3, 9, 8, 30)
    assert office.add_business_time(berlin(2026, 3, 7, 11), 0) == berlin(2026, 3, 7, 11)


def test_24x7_counts_real_hours_on_dst_days(always: ServiceCalendar) -> None:
    assert always.business_seconds(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * HOUR
    assert always.business_seconds(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * HOUR
    assert always.service_intervals(berlin(2026, 3, 1), berlin(2026, 4, 1)) == [
        (berlin(2026, 3, 1), berlin(2026, 4, 1))
    ]


def test_service_intervals_clip_and_split(office: ServiceCalendar) -> None:
    assert office.service_intervals(berlin(2026, 3, 6, 12), berlin(2026, 3, 9, 9)) == [
        (utc(2026, 3, 6, 11), utc(2026, 3, 6, 17)),
        (utc(2026, 3, 9, 7), utc(2026, 3, 9, 8)),
    ]
    assert office.service_intervals(berlin(2026, 3, 9), berlin(2026, 3, 8)) == []
    assert office.business_seconds(berlin(2026, 3, 9, 12), berlin(2026, 3, 9, 12)) == 0


def test_split_spans_and_saturday_and_closed_dates() -> None:
    calendar = ServiceCalendar.parse(
        {"mon-fri": "08:00-12:00, 13:00-17:00", "sat": ["09:00-12:00"], "closed": ["2026-03-13"]},
        "Europe/Berlin",
    )
    assert calendar.service_day_seconds == 8 * HOUR
    assert calendar.business_seconds(berlin(2026, 3, 9), berlin(2026, 3, 10)) == 8 * HOUR
    assert calendar.business_seconds(berlin(2026, 3, 14), berlin(2026, 3, 15)) == 3 * HOUR
    assert calendar.business_seconds(berlin(2026, 3, 13), berlin(2026, 3, 14)) == 0
    assert calendar.add_business_time(berlin(2026, 3, 9, 11), 2 * HOUR) == berlin(2026, 3, 9, 14)


def test_daily_24_hours_with_holidays_joins_days() -> None:
    calendar = ServiceCalendar.parse({"daily": "00:00-24:00", "holidays": "DE"}, "Europe/Berlin")
    assert calendar.service_intervals(berlin(2026, 12, 23), berlin(2026, 12, 28)) == [
        (berlin(2026, 12, 23), berlin(2026, 12, 25)),
        (berlin(2026, 12, 27), berlin(2026, 12, 28)),
    ]


def test_day_names_ranges_and_lists() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days("mon,wed") == frozenset({0, 2})
    assert parse_days("daily") == frozenset(range(7))
    assert parse_spans("13:00-17:00, 08:00-12:00, 11:00-13:00") == ((8 * HOUR, 17 * HOUR),)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mon-fry": "08:00-18:00"}, "unknown key 'mon-fry'"),
        ({"mon": "18:00-08:00"}, "end must be after the start"),
        ({"mon": "08:00-25:00"}, "bad time '25:00'"),
        ({"mon": "24:00-24:00"}, "bad time '24:00'"),
        ({"mon": "8-18"}, "bad time"),
        ({"mon": "08:00-18:00", "holidays": "DE-XX"}, "unknown holiday region 'DE-XX'"),
        ({"mon": "08:00-18:00", "holidays": "XX"}, "unknown holiday region 'XX'"),
        ({"mon": "08:00-18:00", "closed": ["soon"]}, "bad closed date"),
        ({}, "service hours are empty"),
        ("9to5", "expected '24x7' or a mapping"),
    ],
)
def test_bad_specs_are_refused_with_a_reason(spec: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        ServiceCalendar.parse(spec, "Europe/Berlin")


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(SpecError, match="unknown timezone 'Mars/Olympus'"):
        ServiceCalendar.parse("24x7", "Mars/Olympus")


def test_naive_datetimes_and_negative_amounts_are_refused(office: ServiceCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        office.business_seconds(datetime(2026, 3, 9, 8), berlin(2026, 3, 9, 9))
    with pytest.raises(ValueError, match="negative"):
        office.add_business_time(berlin(2026, 3, 9, 8), -1)


CALENDARS = [
    ServiceCalendar.parse({"mon-fri": "08:00-18:00", "holidays": "DE-RP"}, "Europe/Berlin"),
    ServiceCalendar.parse({"mon-fri": "08:00-12:00,13:00-17:00", "sat": "02:00-03:00"}, "Europe/Berlin"),
    ServiceCalendar.parse("24x7", "Europe/Berlin"),
    ServiceCalendar.parse({"daily": "00:00-24:00", "holidays": "US-NY"}, "America/New_York"),
]
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=CALENDARS[0].zone).astimezone(UTC)
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CALENDARS), instants, st.integers(min_value=0, max_value=40 * 10 * HOUR))
def test_measuring_added_time_gives_it_back(calendar: ServiceCalendar, start: datetime, s: int) -> None:
    end = calendar.add_business_time(start, s)
    assert end >= start
    assert calendar.business_seconds(start, end) == s
    if s:
        assert calendar.business_seconds(start, end - timedelta(seconds=1)) < s  # the earliest such instant


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CALENDARS), instants, st.integers(0, 20 * 86400), st.integers(0, 20 * 86400))
def test_business_time_is_additive(calendar: ServiceCalendar, a: datetime, x: int, y: int) -> None:
    b = a + timedelta(seconds=x)
    c = b + timedelta(seconds=y)
    assert calendar.business_time(a, c) == calendar.business_time(a, b) + calendar.business_time(b, c)


def test_times_in_messages_are_to_the_second_or_minute_with_the_zone_named() -> None:
    at = datetime(2026, 11, 22, 10, 30, 5, 123456, tzinfo=UTC)
    assert utc_text(at) == "2026-11-22 10:30:05 UTC"
    assert local_text(at, "Europe/Berlin") == "2026-11-22 11:30 CET (10:30 UTC)"
    assert local_text(at.replace(month=7), "Europe/Berlin") == "2026-07-22 12:30 CEST (10:30 UTC)"
    assert local_text(at, "UTC") == "2026-11-22 10:30 UTC"
