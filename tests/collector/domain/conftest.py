"""Shared calendars and time helpers for the SLA tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from fernwart.collector.domain.calendar import ServiceCalendar

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a Berlin wall-clock time as an aware datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Return a UTC datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def office() -> ServiceCalendar:
    """Return mon-fri 08:00-18:00 Europe/Berlin with Rhineland-Palatinate holidays."""
    return ServiceCalendar.parse({"mon-fri": "08:00-18:00", "holidays": "DE-RP"}, "Europe/Berlin")


@pytest.fixture
def always() -> ServiceCalendar:
    """Return 24x7 in Europe/Berlin."""
    return ServiceCalendar.parse("24x7", "Europe/Berlin")
