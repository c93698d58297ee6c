"""Typed options: building from YAML values, error messages that name the key, descriptions."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fernwart.checks.options import OptionError, build, describe
from fernwart.checks.ranges import Range


@dataclass(frozen=True)
class Sample:
    """Options of an imaginary check."""

    host: str = field(metadata={"help": "where to go"})
    port: int = 22
    ratio: float = 0.5
    enabled: bool = True
    tags: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    limit: Range | None = None
    note: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def test_builds_with_defaults_and_conversions() -> None:
    built = build(Sample, {"host": "db", "ratio": 2, "tags": "one", "limit": "@1:5", "headers": {"A": 1}})
    assert built == Sample("db", 22, 2.0, True, ["one"], [], Range.parse("@1:5"), None, {"A": "1"})
    assert build(Sample, {"host": 42}).host == "42"  # YAML numbers are fine where text is expected


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ({"host": "x", "prot": 1}, "prot", "unknown option; this check type takes: enabled, headers, host"),
        ({}, "host", "required option missing (expected str)"),
        ({"host": "x", "port": "22"}, "port", "expected a whole number, got '22'"),
        ({"host": "x", "port": True}, "port", "expected a whole number, got True"),
        ({"host": "x", "ratio": "half"}, "ratio", "expected a number, got 'half'"),
        ({"host": "x", "enabled": "yes"}, "enabled", "expected true or false, got 'yes'"),
        ({"host": "x", "tags": {"a": 1}}, "tags", "expected a list"),
        ({"host": "x", "sizes": [1, "2"]}, "sizes[1]", "expected a whole number, got '2'"),
        ({"host": "x", "limit": "1:2:3"}, "limit", "expected a range like 10, 10:, ~:10, 10:20 or @10:20"),
        ({"host": ["x"]}, "host", "expected a string, got ['x']"),
        ({"host": "x", "headers": ["a"]}, "headers", "expected a mapping"),
        ({"host": "x", "headers": {"a": [1]}}, "headers.a", "expected a string"),
    ],
)
def test_errors_name_the_key_and_what_was_expected(raw: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(OptionError) as caught:
        build(Sample, raw)
    assert caught.value.key == key
    assert expected in caught.value.message
    assert str(caught.value).startswith(f"{key}: ")


def test_null_is_accepted_for_optional_fields_only() -> None:
    assert build(Sample, {"host": "x", "note": None}).note is None
    with pytest.raises(OptionError, match="^port: expected a whole number, got None"):
        build(Sample, {"host": "x", "port": None})


def test_describe_lists_every_option_in_order() -> None:
    infos = describe(Sample)
    assert [i.name for i in infos] == ["host", "port", "ratio", "enabled", "tags", "sizes", "limit", "note",
                                       "headers"]
    host, port = infos[0], infos[1]
    assert (host.type, host.default, host.help, host.required) == ("str", "(required)", "where to go", True)
    assert (port.type, port.default, port.required) == ("int", "22", False)
    assert infos[4].type == "list of str" and infos[4].default == "[]"
    assert infos[6].type == "range (optional)"
    assert infos[8].type == "mapping of str to str"
