"""Threshold ranges in the Monitoring Plugins syntax."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fernwart.checks.ranges import Range, RangeError, evaluate
from fernwart.checks.status import Status


@pytest.mark.parametrize(
    ("text", "start", "end", "inside"),
    [
        ("10", 0, 10, False),
        ("10:", 10, math.inf, False),
        ("~:10", -math.inf, 10, False),
        ("10:20", 10, 20, False),
        ("@10:20", 10, 20, True),
        ("-5:-1", -5, -1, False),
        ("1.5:2.5", 1.5, 2.5, False),
        (":5", 0, 5, False),
        ("~:", -math.inf, math.inf, False),
        (" 7 ", 0, 7, False),
        (80, 0, 80, False),
        (0.5, 0, 0.5, False),
    ],
)
def test_parse_every_syntax(text: str | float, start: float, end: float, inside: bool) -> None:
    r = Range.parse(text)
    assert (r.start, r.end, r.inside) == (start, end, inside)


@pytest.mark.parametrize(
    ("text", "alerting", "quiet"),
    [
        ("10", [-0.1, 10.01, 11], [0, 5, 10]),  # inclusive ends: 0 and 10 do not alert
        ("10:", [9.99, -1], [10, 1e9]),
        ("~:10", [10.01], [-1e9, 10]),
        ("10:20", [9.9, 20.1], [10, 15, 20]),
        ("@10:20", [10, 15, 20], [9.9, 20.1]),
    ],
)
def test_alerts_with_inclusive_ends(text: str, alerting: list[float], quiet: list[float]) -> None:
    r = Range.parse(text)
    assert [r.alerts(v) for v in alerting] == [True] * len(alerting)
    assert [r.alerts(v) for v in quiet] == [False] * len(quiet)


@pytest.mark.parametrize("text", ["", "@", "abc", "1:2:3", "20:10", "~", "1:x", "nan", "@:nan", "10%"])
def test_malformed_ranges_raise_with_the_text(text: str) -> None:
    with pytest.raises(RangeError) as caught:
        Range.parse(text)
    assert repr(text.strip()) in str(caught.value)


def test_evaluate_critical_wins_and_none_means_no_threshold() -> None:
    assert evaluate(95, Range.parse("80"), Range.parse("90")) is Status.CRITICAL
    assert evaluate(85, Range.parse("80"), Range.parse("90")) is Status.WARNING
    assert evaluate(50, Range.parse("80"), Range.parse("90")) is Status.OK
    assert evaluate(1e12, None, None) is Status.OK


def test_str_keeps_the_original_text_and_formats_built_ranges() -> None:
    assert str(Range.parse(" @10:20 ")) == "@10:20"
    assert str(Range(0, 10)) == "10"
    assert str(Range(10, math.inf)) == "10:"
    assert str(Range(-math.inf, 5, inside=True)) == "@~:5"
    assert str(Range(0, math.inf)) == "0:"


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda f: round(f, 3))
anywhere = st.floats(allow_nan=False, allow_infinity=False)


@given(finite, finite, finite, st.booleans())
def test_formatted_range_parses_back_alike(a: float, b: float, value: float, inside: bool) -> None:
    start, end = sorted((a, b))
    built = Range(start, end, inside)
    again = Range.parse(str(built))
    assert again.alerts(value) == built.alerts(value)


# The guidelines' range grammar: [@]start:end, numbers of [-0-9.] in the C locale, "~" for negative
# infinity; start and ":" may be left out when start is 0. Monitoring::Plugin::Range refuses a range
# without a digit or "~" (a bare ":"); Python's float() would take the spellings below, C plugins would not.
@pytest.mark.parametrize(
    "text",
    [":", "@:", " : ", "1_0", "1_0:", "inf", "-inf", "infinity:", "~:inf", "nan", "NaN:", "+5", "1e3",
     "1E3:", "0x10", "10,5", "١٢", "1.2.3", "-", "--1", ".", "-.", "5:~", "~~:1"],
)
def test_refused_spellings_outside_the_guidelines_grammar(text: str) -> None:
    with pytest.raises(RangeError):
        Range.parse(text)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("1.", 0, 1), (".5", 0, 0.5), ("-.5:", -0.5, math.inf), ("-10:-1.5", -10, -1.5), ("~:0", -math.inf, 0)],
)
def test_accepted_spellings_of_the_grammar(text: str, start: float, end: float) -> None:
    r = Range.parse(text)
    assert (r.start, r.end) == (start, end)


@pytest.mark.parametrize("number", [1e-7, 1e16, 2.5e-9, 123456789012345678.0])
def test_numbers_given_as_numbers_are_written_in_the_grammar(number: float) -> None:
    r = Range.parse(number)
    assert r.end == number and "e" not in str(r).lower()
    assert Range.parse(str(Range(-number, number))).start == -number


@pytest.mark.parametrize("value", [True, math.nan, math.inf])
def test_non_numbers_given_as_numbers_are_refused(value: float) -> None:
    with pytest.raises(RangeError):
        Range.parse(value)


@given(anywhere, anywhere, anywhere, st.booleans())
def test_any_built_range_formats_in_the_grammar_and_parses_back(a: float, b: float, value: float,
                                                                 inside: bool) -> None:
    start, end = sorted((a, b))
    built = Range(start, end, inside)
    again = Range.parse(str(built))
    assert (again.start, again.end, again.inside) == (start, end, inside)
