"""Perfdata parsing and rendering in the Monitoring Plugins format."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fernwart.checks.perfdata import UOMS, PerfDatum, parse, parse_item, render


def test_full_item() -> None:
    assert parse_item("time=0.5s;1;2;0;10") == PerfDatum("time", 0.5, "s", "1", "2", 0, 10)


@pytest.mark.parametrize("uom", UOMS)
def test_every_uom(uom: str) -> None:
    datum = parse_item(f"x=12.5{uom}")
    assert (datum.value, datum.uom) == (12.5, uom)


def test_quoted_labels_with_spaces_and_escaped_quotes() -> None:
    result = parse("'C:\\ used space'=10GB;20;30 'it''s'=1 '''quoted'''=2")
    assert [d.label for d in result.data] == ["C:\\ used space", "it's", "'quoted'"]
    assert result.errors == ()


def test_u_is_undetermined() -> None:
    datum = parse_item("rta=U;100;500")
    assert datum.value is None and datum.warn == "100" and datum.crit == "500"


@pytest.mark.parametrize(
    "text", ["load1=0.160;5.000;10.000;0;", "a=1;;;;", "a=1;;", "a=1", "a=1;2", "a=1;;3"],
)
def test_empty_and_missing_trailing_fields(text: str) -> None:
    datum = parse_item(text)
    assert datum.value is not None
    assert datum.max is None


def test_thresholds_keep_their_range_text() -> None:
    datum = parse_item("x=5;@10:20;~:30")
    assert (datum.warn, datum.crit) == ("@10:20", "~:30")


def test_signed_and_fractional_values_of_the_grammar() -> None:
    assert parse_item("x=-1500.5ms").value == -1500.5
    assert parse_item("x=.5").value == 0.5
    assert parse_item("x=-.5;;;-1.;1.").value == -0.5


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("novalue", "no '='"),
        ("=1", "empty label"),
        ("x=abc", "is not a number"),
        ("x=1parsecs", "unknown unit"),
        ("x=1;2;3;a;5", "min 'a' is not a number"),
        ("x=1;2;3;4;b", "max 'b' is not a number"),
        ("x=1;2;3;4;5;6", "more than 5"),
        ("'unterminated=1", "unterminated"),
        ("'a'b=1", "expected '='"),
        ("x=", "is not a number"),
        # the guidelines' numbers are [-0-9.] in the C locale; Python's float() would take these
        ("x=1_0", "unknown unit"),
        ("x=inf", "is not a number"),
        ("x=nan", "is not a number"),
        ("x=infinity", "is not a number"),
        ("x=1e3ms", "unknown unit"),
        ("x=+5", "is not a number"),
        ("x=1;;;1_0", "min '1_0' is not a number"),
        ("x=1;;;;inf", "max 'inf' is not a number"),
        ("x=1;;;nan", "min 'nan' is not a number"),
        ("x=1;;;-infinity", "min '-infinity' is not a number"),
        ("x=1;;;1e3", "min '1e3' is not a number"),
        # warn and crit are ranges, parsed as thresholds are
        ("processes=9;WKFLSV32.exe;9=", "warn 'WKFLSV32.exe' is not a range"),
        ("test=1;123,456;1;1;1", "warn '123,456' is not a range"),
        ("x=1;:", "warn ':' is not a range"),
        ("x=1;1;inf", "crit 'inf' is not a range"),
        ("x=1;10%;20%", "warn '10%' is not a range"),
        ("x=1;20:10", "warn '20:10' is not a range"),
        # the guidelines forbid '=' in a label
        ("'a=b'=1", "'=' in its label"),
    ],
)
def test_malformed_items_are_reported_and_the_rest_parse(item: str, reason: str) -> None:
    result = parse(f"good=1 {item} other=2%")
    assert [d.label for d in result.data] == ["good", "other"]
    assert len(result.errors) == 1 and reason in result.errors[0]


def test_unterminated_quote_at_the_end_spoils_only_its_word() -> None:
    result = parse("a=1 'broken label=2 b=3")
    assert [d.label for d in result.data] == ["a", "label", "b"]
    assert len(result.errors) == 1 and "'broken" in result.errors[0]


def test_perfdata_vectors_of_the_guidelines_and_peers() -> None:
    result = parse("processes=9;WKFLSV32.exe;9= test=1;123,456;1;1;1 'C:\\ used'=5GB;~:10;@1:2;0;20")
    assert [d.label for d in result.data] == ["C:\\ used"]
    assert result.data[0].warn == "~:10" and result.data[0].crit == "@1:2"
    assert [e.split(":")[0] for e in result.errors] == ["perfdata 'processes=9;WKFLSV32.exe;9='",
                                                          "perfdata 'test=1;123,456;1;1;1'"]


def test_a_label_built_with_an_equals_sign_is_written_with_an_underscore() -> None:
    datum = PerfDatum("/mnt/a=b", 1.0)
    assert datum.label == "/mnt/a_b"
    assert parse(render([datum])).data == (datum,)


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False))
def test_rendered_numbers_never_need_an_exponent(value: float, bound: float) -> None:
    datum = PerfDatum("x", value, min=bound)
    text = datum.to_text()
    assert "e" not in text.lower()
    assert parse_item(text) == datum


def test_render_quotes_when_needed_and_drops_empty_trailing_fields() -> None:
    data = [PerfDatum("it's here", 1.0, "%", "80", "90", 0, 100), PerfDatum("plain", None, warn="5"),
            PerfDatum("x", 2.5, "s")]
    assert render(data) == "'it''s here'=1%;80;90;0;100 plain=U;5 x=2.5s"


def test_non_finite_values_render_as_undetermined() -> None:
    assert PerfDatum("x", math.nan).to_text() == "x=U"
    assert PerfDatum("x", math.inf, "s", min=-math.inf, max=1).to_text() == "x=U;;;;1"


def test_dict_round_trip() -> None:
    datum = PerfDatum("a b", 3.0, "MB", "1:", "@2", None, 7.0)
    assert PerfDatum.from_dict(datum.to_dict()) == datum


labels = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
optional = st.none() | numbers
thresholds = st.sampled_from(["", "10", "10:", "~:10", "@10:20", "0.5"])


@given(labels, st.none() | numbers, st.sampled_from(UOMS), thresholds, thresholds, optional, optional)
def test_render_parse_round_trip(
    label: str, value: float | None, uom: str, warn: str, crit: str, lo: float | None, hi: float | None,
) -> None:
    datum = PerfDatum(label, value, uom if value is not None else "", warn, crit, lo, hi)
    result = parse(render([datum, PerfDatum("next", 1.0)]))
    assert result.errors == ()
    assert result.data == (datum, PerfDatum("next", 1.0))
