from __future__ import annotations

import pytest

from fernwart.collector.domain.durations import Duration, parse_duration, parse_share
from fernwart.collector.domain.errors import SpecError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", Duration(0, 90)),
        ("30m", Duration(0, 1800)),
        ("4h", Duration(0, 14400)),
        ("1h30m", Duration(0, 5400)),
        ("1d", Duration(1, 0)),
        ("2d4h", Duration(2, 14400)),
        (" 10d ", Duration(10, 0)),
        ("0m", Duration(0, 0)),
    ],
)
def test_parse_duration_accepts_units_in_order(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "1w", "30m1h", "-5m", "1.5h", "h", "1 h", "4hh"])
def test_parse_duration_refuses_malformed_text(text: str) -> None:
    with pytest.raises(SpecError, match="bad duration"):
        parse_duration(text)


def test_parse_duration_refuses_numbers_from_yaml() -> None:
    with pytest.raises(SpecError, match="expected a duration"):
        parse_duration(30)


def test_a_day_is_worth_one_service_day_of_the_calendar() -> None:
    assert parse_duration("1d").business_seconds(10 * 3600) == 36000
    assert parse_duration("1d2h").business_seconds(86400) == 86400 + 7200


def test_duration_renders_back_to_its_spec() -> None:
    assert str(parse_duration("1d1h30m15s")) == "1d1h30m15s"
    assert str(Duration()) == "0s"


@pytest.mark.parametrize(("text", "share"), [("50%", 0.5), ("0%", 0.0), ("100%", 1.0), ("12.5 %", 0.125)])
def test_parse_share_reads_percentages(text: str, share: float) -> None:
    assert parse_share(text) == share


@pytest.mark.parametrize("text", ["50", "101%", "-5%", "abc%", 50, None])
def test_parse_share_refuses_anything_else(text: object) -> None:
    with pytest.raises(SpecError):
        parse_share(text)
