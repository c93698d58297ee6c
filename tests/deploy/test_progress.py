"""The live display (plain lines off a terminal, a redrawn block on one) and the summary table."""

from __future__ import annotations

import io

from fernwart.deploy.progress import DeployOutcome, HostReport, Progress, clean, summary


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(["web01", "web02"], out, tty=False)
    progress.step("web01", 1, 4, "connect")
    progress.step("web02", 2, 4, "look at the target")
    progress.finish(HostReport("web01", DeployOutcome.FAILED, "host key unknown"))
    assert out.getvalue().splitlines() == [
        "web01: [1/4] connect",
        "web02: [2/4] look at the target",
        "web01: failed: host key unknown (1/2 hosts done)",
    ]
    assert "\x1b" not in out.getvalue()


def test_a_terminal_gets_one_line_per_host_and_a_bar_redrawn_in_place() -> None:
    out = io.StringIO()
    progress = Progress(["a", "bb"], out, tty=True)
    progress.step("a", 3, 5, "install the packages")
    progress.finish(HostReport("bb", DeployOutcome.UNCHANGED, "nothing changed"))
    frames = out.getvalue().split("\x1b[3F")  # the second frame starts by moving up over 2 hosts + bar
    assert len(frames) == 2
    last = [line.removeprefix("\x1b[2K") for line in frames[1].splitlines()]
    assert last[0] == "a   [3/5] install the packages"
    assert last[1] == "bb  unchanged: nothing changed"
    assert last[2] == "[" + "#" * 21 + "-" * 9 + "] 1/2 hosts"  # (2/5 + 1) / 2 of 30


def test_text_from_a_target_cannot_drive_the_terminal() -> None:
    assert clean("ok\x1b[2J\x07 fine\nnext") == "ok?[2J? fine next"
    assert len(clean("x" * 1000)) == 400


def test_the_summary_lists_failures_first_with_their_cause() -> None:
    table = summary([
        HostReport("web01", DeployOutcome.INSTALLED, "fernwart 0.2.0 as host 1f; first report arrived",
                   "0.2.0"),
        HostReport("db01", DeployOutcome.FAILED, "the target has Python 3.9.2; Fernwart needs Python 3.11"),
        HostReport("app01", DeployOutcome.UNCHANGED, "nothing changed", "0.2.0"),
    ]).splitlines()
    assert table[0].split() == ["HOST", "RESULT", "VERSION", "DETAIL"]
    assert table[1].startswith("db01   failed     -        the target has Python 3.9.2")
    assert table[2].startswith("app01  unchanged  0.2.0    nothing changed")
    assert table[-1] == "1 failed, 1 installed, 1 unchanged"
