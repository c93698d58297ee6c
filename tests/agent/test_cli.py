from __future__ import annotations

import io
import json
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fernwart.agent.cli import main
from fernwart.agent.outbox import Outbox
from tests.agent.collector_stub import CollectorStub
from tests.support import REPO

HEAD = "collector: http://127.0.0.1:9\nhost_id: host-1\n"


def checks_config(write_config: Callable[[str], Path], *statuses: str) -> Path:
    entries = "".join(
        f"  - {{name: s{i}, type: t_status, interval: 60, status: {s}, summary: 'it is {s}'}}\n"
        for i, s in enumerate(statuses)
    )
    return write_config(HEAD + "checks:\n" + entries)


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (("OK", "OK"), 0),
        (("OK", "WARNING"), 1),
        (("UNKNOWN", "CRITICAL", "WARNING"), 2),
        (("OK", "UNKNOWN"), 3),
        (("UNKNOWN", "WARNING"), 1),  # Nagios ranks WARNING above UNKNOWN
    ],
)
def test_check_exits_with_the_worst_status(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
    statuses: tuple[str, ...], code: int,
) -> None:
    assert main(["check", "--config", str(checks_config(write_config, *statuses))]) == code
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"s{i} {s} it is {s}" for i, s in enumerate(statuses)]


def test_check_text_shows_perfdata(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
) -> None:
    entry = "{name: disk-root, type: t_value, interval: 60, value: 93, label: /}"
    path = write_config(HEAD + f"checks: [{entry}]")
    assert main(["check", "--config", str(path)]) == 2
    assert capsys.readouterr().out == "disk-root CRITICAL / is 93 | /=93%;80;90;0;100\n"


def test_check_json(write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(HEAD + "checks:\n  - {name: v, type: t_value, interval: 60, value: 85}\n"
                        "  - {name: r, type: t_raise, interval: 30, max_attempts: 5}\n")
    assert main(["check", "--config", str(path), "--json"]) == 1
    items = json.loads(capsys.readouterr().out)
    assert [(i["check"], i["type"], i["status"], i["status_name"]) for i in items] == [
        ("v", "t_value", 1, "WARNING"), ("r", "t_raise", 3, "UNKNOWN"),
    ]
    assert items[0]["metrics"][0] == {
        "label": "value", "value": 85.0, "uom": "%", "warn": "80", "crit": "90", "min": 0.0, "max": 100.0,
    }
    assert items[1]["summary"] == "check failed: RuntimeError: sensor exploded"
    assert items[1]["interval"] == 30 and items[1]["max_attempts"] == 5
    assert items[0]["observed_at"].endswith("Z")


@pytest.mark.parametrize("command", ["check", "run"])
def test_bad_config_exits_2_naming_file_check_and_key(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str], command: str,
) -> None:
    path = write_config(HEAD + "checks: [{name: disk-root, type: t_value, interval: 60, warning: 9x}]")
    assert main([command, "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path}: check 'disk-root' (checks[0]): warning: threshold '9x'" in captured.err


def test_run_without_a_token_exits_2_and_keeps_the_outbox(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    path = write_config(HEAD)
    assert main(["run", "--config", str(path)]) == 2
    assert "token_file: cannot read" in capsys.readouterr().err
    assert not (tmp_path / "outbox.sqlite").exists()


def test_checks_lists_types_with_options_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    assert "t_value: Reports a configured value against warning/critical." in out
    assert "  warning: 80  critical: 90" in out
    assert "  value (float, default 0.0): the value compared with the thresholds" in out
    assert "dns: Resolve a name" in out and "  query (str, required): name to resolve" in out


def test_enroll_command(
    collector: CollectorStub, tmp_path: Path, capsys: pytest.CaptureFixture[str], standins: None,
) -> None:
    config = tmp_path / "agent.yaml"
    args = ["enroll", "--collector", collector.url, "--token", "fwe_x", "--config", str(config)]
    assert main(args) == 0
    assert "enrolled as host host-1" in capsys.readouterr().out
    assert stat.S_IMODE((tmp_path / "agent.token").stat().st_mode) == 0o600
    assert main(args) == 1  # exists, no --force
    assert "exists; pass --force" in capsys.readouterr().err
    assert len(collector.requests) == 1


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["check"])
    assert caught.value.code == 2


RUN_AGENT = """
import sys
from fernwart.checks import registry
from tests.agent.fakes import FAKE_TYPES
registry.CHECK_TYPES.update(FAKE_TYPES)
from fernwart.agent.cli import main
sys.exit(main(["run", "--config", sys.argv[1]]))
"""


def test_run_process_reports_and_stops_cleanly_on_sigterm(collector: CollectorStub, tmp_path: Path) -> None:
    """Starts a real agent process against the collector stub, then stops it with SIGTERM."""
    (tmp_path / "agent.token").write_text("fwa_secret\n")
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"collector: {collector.url}\nhost_id: host-1\nheartbeat_interval: 60\n"
        "checks:\n  - {name: fast, type: t_value, interval: 1, value: 95}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_AGENT, str(config)], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum(len(r.body["results"]) for r in collector.reports()) < 2:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "received SIGTERM, shutting down" in err and "stopped" in err
    reports = collector.reports()
    assert reports[0].body["results"] == []  # the start-up heartbeat
    assert all(r.headers["Authorization"] == "Bearer fwa_secret" for r in reports)
    sent = [r for report in reports for r in report.body["results"]]
    assert len(sent) >= 2 and {r["check"] for r in sent} == {"fast"} and {r["status"] for r in sent} == {2}
    assert len({r["id"] for r in sent}) == len(sent)
    with Outbox(tmp_path / "outbox.sqlite") as box:
        assert not {e.id for e in box.peek(1000)} & {r["id"] for r in sent}  # sent means deleted


def test_check_with_the_real_plugin_type(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
) -> None:
    """Runs a real `sh` process through the registered `plugin` check type."""
    path = write_config(HEAD + "checks:\n  - name: plug\n    type: plugin\n    interval: 60\n"
                        "    command: [sh, -c, 'echo \"DISK CRITICAL - / full | root=99%;80;90\"; exit 2']\n")
    assert main(["check", "--config", str(path)]) == 2
    assert capsys.readouterr().out == "plug CRITICAL DISK CRITICAL - / full | root=99%;80;90\n"


def test_enroll_reads_the_token_from_a_file_or_standard_input(
    collector: CollectorStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standins: None,
) -> None:
    """The token need not be on the command line, where `ps` shows it."""
    (tmp_path / "token").write_text("fwe_from_file\n")
    first = ["enroll", "--collector", collector.url, "--config", str(tmp_path / "a.yaml")]
    assert main([*first, "--token-file", str(tmp_path / "token")]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("fwe_from_stdin\n"))
    second = ["enroll", "--collector", collector.url, "--config", str(tmp_path / "b.yaml")]
    assert main([*second, "--token", "-"]) == 0
    assert [r.body["token"] for r in collector.requests] == ["fwe_from_file", "fwe_from_stdin"]
    assert main([*first, "--force", "--token-file", str(tmp_path / "missing")]) == 1
    assert len(collector.requests) == 2
