"""Plugin output split into summary, long output and perfdata, as the guidelines define it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fernwart.checks.plugin_output import parse


def test_summary_only() -> None:
    out = parse("DISK OK\n")
    assert (out.summary, out.long_output, out.metrics, out.perf_errors) == ("DISK OK", (), (), ())


def test_guidelines_example_with_perfdata_on_later_lines() -> None:
    out = parse(
        "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
        "/ 15272 MB (77%);\n"
        "/boot 68 MB (69%);\n"
        "/home 69357 MB (27%);\n"
        "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
        "/home=69357MB;253404;253409;0;253414 \n"
        "/var/log=818MB;970;975;0;980\n"
    )
    assert out.summary == "DISK OK - free space: / 3326 MB (56%);"
    assert out.long_output == ("/ 15272 MB (77%);", "/boot 68 MB (69%);", "/home 69357 MB (27%);",
                               "/var/log 819 MB (84%);")
    assert [m.label for m in out.metrics] == ["/", "/boot", "/home", "/var/log"]
    assert out.metrics[2].max == 253414


def test_long_output_without_perfdata_and_crlf() -> None:
    out = parse("WARNING: two problems\r\nfirst\r\nsecond\r\n\r\n")
    assert out.summary == "WARNING: two problems"
    assert out.long_output == ("first", "second")
    assert out.metrics == ()


def test_perfdata_only_after_a_later_pipe() -> None:
    out = parse("OK\nline\n| a=1 b=2")
    assert out.long_output == ("line",)  # the empty text before the pipe is no long-output line
    assert [m.label for m in out.metrics] == ["a", "b"]


def test_malformed_perfdata_is_reported_not_raised() -> None:
    out = parse("OK | a=1 b=oops c=3")
    assert [m.label for m in out.metrics] == ["a", "c"]
    assert len(out.perf_errors) == 1


def test_empty_output() -> None:
    assert parse("").summary == ""
    assert parse("\n\n").long_output == ()


@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    out = parse(text)
    assert "\n" not in out.summary
