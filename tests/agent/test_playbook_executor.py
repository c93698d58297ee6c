"""The agent's playbook runner, against real processes and files of this machine (no mocks)."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from fernwart.agent.playbooks.executor import Refused, execute, prepare
from fernwart.agent.playbooks.library import load_library
from fernwart.agent.playbooks.outcome import RunState, StepStatus
from fernwart.playbook.model import Playbook, load_playbook


def playbook(text: str, name: str = "t") -> Playbook:
    header = f"name: {name}\nversion: 1\nkind: diagnostic\ntimeout: 30s\n"
    return load_playbook((header + text).encode(), f"{name}.yaml")


def test_a_step_past_its_timeout_is_killed_with_its_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    book = playbook(f"""steps:
  - {{name: hang, run: [sh, -c, "sleep 60 & echo $! > {marker}; echo started; sleep 60"], timeout: 1s}}
  - {{name: later, run: [echo, never]}}
""")
    outcome = execute(book, prepare(book, {}))
    assert outcome.state == RunState.TIMED_OUT
    hang, later = outcome.steps
    assert (hang.status, later.status) == (StepStatus.TIMED_OUT, StepStatus.SKIPPED)
    assert hang.output.startswith("started") and "killed after 1s" in hang.output
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the background child outlived its step"
        time.sleep(0.05)


def test_output_beyond_the_cap_is_cut_and_says_so() -> None:
    book = playbook("steps:\n  - {name: big, run: [head, -c, '100000', /dev/zero], max_output: 1000}\n")
    step = execute(book, {}).steps[0]
    assert (step.status, step.truncated, len(step.output), step.exit_code) == (StepStatus.OK, True, 1000, 0)


def test_a_program_gets_the_reduced_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERNWART_SECRET_TEST", "leak")
    step = execute(playbook("steps:\n  - {name: env, run: [env]}\n"), {}).steps[0]
    names = {line.split("=", 1)[0] for line in step.output.splitlines()}
    assert names <= {"PATH", "LANG", "LC_ALL", "HOME", "TERM", "PAGER", "SYSTEMD_PAGER", "SYSTEMD_COLORS"}
    assert "leak" not in step.output


def test_a_parameter_with_shell_syntax_is_one_argument_never_a_command(tmp_path: Path) -> None:
    book = playbook("""params:
  word: {type: string, pattern: "[a-z;$() ]+"}
steps:
  - {name: echo, run: [printf, "%s|", "{word}"]}
""")
    step = execute(book, prepare(book, {"word": "a; touch pwned $(id)"})).steps[0]
    assert step.output == "a; touch pwned $(id)|"
    assert not Path("pwned").exists()


def test_read_file_refuses_a_symlink_out_of_its_roots(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    root.mkdir()
    (root / "app.log").write_text("one\ntwo\nthree\n")
    (root / "evil.log").symlink_to("/etc/passwd")
    book = playbook(f"read_roots: [{root}]\n"
                    f"steps:\n  - {{name: logs, read_file: ['{root}/*.log'], tail: 2}}\n")
    step = execute(book, {}).steps[0]
    assert step.status == StepStatus.FAILED
    assert "two\nthree" in step.output and "root:" not in step.output
    assert f"{root}/evil.log <==\nrefused: resolves to /etc/passwd" in step.output


def test_a_path_parameter_that_resolves_outside_its_roots_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc")
    book = playbook(f"""params:
  where: {{type: path, roots: [{tmp_path}]}}
steps:
  - {{name: list, collect: files, with: {{path: "{{where}}"}}}}
""")
    with pytest.raises(Refused, match="resolves to '/etc'"):
        prepare(book, {"where": str(tmp_path / "link")})


def test_repairs_need_the_agents_permission_and_stop_at_the_first_failure() -> None:
    text = ("name: fix\nversion: 1\nkind: repair\ntimeout: 30s\nparams: {go: {type: bool, default: true}}\n"
            "steps:\n  - {name: one, run: ['false']}\n  - {name: two, run: [echo, two]}\n"
            "  - {name: three, run: [echo, three], when: go}\n")
    book = load_playbook(text.encode(), "fix.yaml")
    with pytest.raises(Refused, match="does not allow repairs"):
        prepare(book, {})
    outcome = execute(book, prepare(book, {}, allow_repairs=True))
    assert outcome.state == RunState.FAILED
    assert [s.status for s in outcome.steps] == [StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.SKIPPED]


def test_a_job_naming_another_hash_is_refused() -> None:
    book = playbook("steps:\n  - {name: a, run: ['true']}\n")
    with pytest.raises(Refused, match="hash"):
        prepare(book, {}, digest="0" * 64)
    assert prepare(book, {}, digest=book.digest) == {}


def test_a_when_flag_skips_a_step_and_a_diagnostic_runs_on_after_a_failure() -> None:
    book = playbook("params: {go: {type: bool, default: false}}\n"
                    "steps:\n  - {name: a, run: ['false']}\n  - {name: b, run: [echo, b], when: go}\n"
                    "  - {name: c, run: [echo, c]}\n")
    outcome = execute(book, prepare(book, {}))
    assert [s.status for s in outcome.steps] == [StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.OK]
    assert outcome.state == RunState.FAILED and outcome.steps[2].output == "c\n"


def test_the_library_holds_valid_files_and_names_the_problems_of_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("name: good\nversion: 1\nkind: diagnostic\ntimeout: 5s\n"
                                        "steps: [{name: a, check: disk, options: {mounts: [/]}}]\n")
    (tmp_path / "bad.yaml").write_text("name: bad\nversion: 1\nkind: diagnostic\ntimeout: 5s\n"
                                       "steps: [{name: a, check: nosuch}]\n")
    library = load_library(tmp_path)
    assert list(library.playbooks) == ["good"]
    assert library.problems[0].startswith(f"{tmp_path}/bad.yaml: steps[0] (a).check: unknown check type")


def test_a_cancelled_run_kills_the_running_program_with_its_group_and_skips_the_rest(tmp_path: Path) -> None:
    import threading

    marker = tmp_path / "child.pid"
    book = playbook(f"""steps:
  - {{name: first, run: [echo, done]}}
  - {{name: hang, run: [sh, -c, "sleep 60 & echo $! > {marker}; echo started; sleep 60"], timeout: 25s}}
  - {{name: later, run: [echo, never]}}
""")
    cancelled = threading.Event()
    watcher = threading.Thread(target=lambda: (_wait_for_file(marker), cancelled.set()))
    watcher.start()
    began = time.monotonic()
    outcome = execute(book, prepare(book, {}), cancelled=cancelled)
    watcher.join()
    assert outcome.state == RunState.CANCELLED and outcome.error == "cancelled by a technician"
    assert time.monotonic() - began < 20  # well before the step's 25 s timeout
    first, hang, later = outcome.steps
    assert (first.status, hang.status, later.status) == (
        StepStatus.OK, StepStatus.CANCELLED, StepStatus.SKIPPED)
    assert hang.output.startswith("started") and "[killed: the job was cancelled]" in hang.output
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the background child outlived the cancel"
        time.sleep(0.05)


def _wait_for_file(path: Path) -> None:
    deadline = time.monotonic() + 20
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
