"""The plugin check against canned command results: exit codes, signals, timeouts, output parsing."""

from __future__ import annotations

import pytest

from fernwart.checks.options import OptionError
from fernwart.checks.plugin import PluginCheck, find_executable, interpret
from fernwart.checks.probe import CommandResult
from fernwart.checks.status import Status
from tests.checks.fakes import FakeRunner, done, make_probe


def check(*command: str) -> PluginCheck:
    return PluginCheck.from_config({"command": list(command)})


@pytest.mark.parametrize("code", [0, 1, 2, 3])
def test_exit_codes_0_to_3_map_to_statuses(code: int) -> None:
    runner = FakeRunner({"check_x": done(f"X {code} - fine | t=1s;2;3", code)})
    result = check("/opt/check_x", "-w", "2").run(make_probe(run=runner))
    assert result.status == Status(code)
    assert result.summary == f"X {code} - fine"
    assert [m.to_text() for m in result.metrics] == ["t=1s;2;3"]
    assert runner.calls == [("/opt/check_x", "-w", "2")]


@pytest.mark.parametrize(
    ("command_result", "summary"),
    [
        (done("weird", 5), "plugin exited with code 5"),
        (done("", 255), "plugin exited with code 255"),
        (done("half", -9), "plugin killed by signal 9 (SIGKILL)"),
        (done("slow", -9, timed_out=True), "plugin timed out after 10s"),
        (CommandResult(("x",), 127, "", "x: not found", start_error="x: not found"),
         "plugin could not be started: x: not found"),
    ],
)
def test_abnormal_ends_are_unknown_and_say_which(command_result: CommandResult, summary: str) -> None:
    result = interpret(command_result, 10.0)
    assert result.status is Status.UNKNOWN
    assert result.summary == summary
    if command_result.stdout:
        assert result.long_output.splitlines()[0] == command_result.stdout  # what it printed is kept


def test_missing_executable_is_unknown_through_the_runner() -> None:
    result = check("/nonexistent/check_nothing").run(make_probe(run=FakeRunner({})))
    assert result.status is Status.UNKNOWN
    assert "not found" in result.summary


def test_long_output_and_later_perfdata_are_parsed() -> None:
    text = "DISK OK - all fine | /=10MB;20;30;0;100\nline two\nline three | /var=5MB\n/home=1MB;;;0\n"
    result = interpret(done(text, 0), 10.0)
    assert result.status is Status.OK
    assert result.summary == "DISK OK - all fine"
    assert result.long_output == "line two\nline three"
    assert [m.label for m in result.metrics] == ["/", "/var", "/home"]


def test_malformed_perfdata_goes_to_long_output_and_the_rest_still_parse() -> None:
    result = interpret(done("OK | good=1 bad=x ok2=2%;;", 0), 10.0)
    assert result.status is Status.OK
    assert [m.label for m in result.metrics] == ["good", "ok2"]
    assert "perfdata error" in result.long_output and "'bad=x'" in result.long_output


def test_stderr_only_is_shown_as_nagios_does() -> None:
    result = interpret(done("", 2, stderr="boom\n"), 10.0)
    assert result.status is Status.CRITICAL
    assert result.summary == "(No output on stdout) stderr: boom"


def test_no_output_at_all_still_gives_a_summary() -> None:
    result = interpret(done("", 0), 10.0)
    assert result.status is Status.OK
    assert result.summary == "(plugin printed nothing, exit code 0)"


def test_env_is_merged_over_the_probe_environment() -> None:
    runner = FakeRunner({"p": done("OK", 0)})
    PluginCheck.from_config({"command": ["/x/p"], "env": {"LC_ALL": "C"}}).run(make_probe(run=runner))
    assert runner.envs == [{"PATH": "/usr/bin:/bin", "LC_ALL": "C"}]


def test_bare_name_is_found_in_plugin_dirs(tmp_path: object) -> None:
    assert find_executable("/abs/check_x", {}) == "/abs/check_x"
    assert find_executable("no_such_plugin_anywhere", {"PATH": "/nonexistent"}) == "no_such_plugin_anywhere"
    assert find_executable("sh", {"PATH": "/bin:/usr/bin"}).endswith("/sh")


@pytest.mark.parametrize(
    ("options", "key", "expected"),
    [
        ({}, "command", "required option missing"),
        ({"command": []}, "command", "non-empty list"),
        ({"command": "check_disk -w 10%"}, "command", "not a shell string"),
        ({"command": [["nested"]]}, "command[0]", "expected a string"),
        ({"command": ["x"], "shell": True}, "shell", "unknown option"),
    ],
)
def test_bad_options_name_the_key(options: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(OptionError) as caught:
        PluginCheck.from_config(options)
    assert caught.value.key == key
    assert expected in str(caught.value)


def test_thresholds_are_refused_for_plugins() -> None:
    with pytest.raises(OptionError, match="takes no thresholds") as caught:
        PluginCheck.from_config({"command": ["x"]}, warning="10")
    assert caught.value.key == "warning"
