"""The client's configuration: variables over file, a private token file, messages naming the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fernwart.client.config import ConfigError, load
from fernwart.client.render import duration, table


def _file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "client.yaml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_variables_win_over_the_file_key_by_key(tmp_path: Path) -> None:
    path = _file(tmp_path, "url: https://file.example/\ntoken: fwu_file\ntimeout: 3\n")
    config = load(path, {"FERNWART_TOKEN": "fwu_env"})
    assert (config.url, config.token, config.timeout) == ("https://file.example", "fwu_env", 3.0)


def test_a_url_only_file_may_be_shared(tmp_path: Path) -> None:
    path = _file(tmp_path, "url: http://collector:8750\n", mode=0o644)
    assert load(path, {"FERNWART_TOKEN": "fwu_env"}).url == "http://collector:8750"


@pytest.mark.parametrize(("text", "mode", "environ", "message"), [
    ("url: http://c\ntoken: fwu_x\n", 0o640, {}, "group or others may read it (mode 0640); run: chmod 600"),
    ("url: http://c\n", 0o600, {}, "no API token: set FERNWART_TOKEN or 'token:' in"),
    ("token: fwu_x\n", 0o600, {}, "no collector URL: set FERNWART_URL or 'url:' in"),
    ("url: collector:8750\ntoken: fwu_x\n", 0o600, {}, "must start with http:// or https://"),
    ("url: http://c\ntoken: fwu_x\ntimeout: soon\n", 0o600, {}, "timeout must be a number of seconds"),
    ("url: http://c\ntokn: fwu_x\n", 0o600, {}, "unknown key 'tokn'; expected url, token, timeout"),
    ("- url\n", 0o600, {}, "expected a mapping with url and token"),
])
def test_bad_configurations_name_the_fix(tmp_path: Path, text: str, mode: int, environ: dict[str, str],
                                         message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(_file(tmp_path, text, mode), environ)
    assert message in str(caught.value)


def test_the_default_file_may_be_missing_when_variables_are_set(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load(None, {"FERNWART_URL": "http://c", "FERNWART_TOKEN": "fwu_x"})
    assert (config.url, config.token) == ("http://c", "fwu_x")
    with pytest.raises(ConfigError, match=r"client\.yaml \(missing\)"):
        load(None, {})


def test_the_client_does_not_import_the_collector() -> None:
    code = (
        "import sys, fernwart.client.cli; "
        "heavy = ('fernwart.collector', 'fernwart.checks', 'fernwart.agent', 'fastapi', 'sqlalchemy'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (45.4, "45s"), (1800, "30m 00s"), (7500, "2h 05m"), (273600, "3d 4h"), (-860, "-14m 20s"),
    (None, "-"),
])
def test_durations_read_short(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_tables_align_all_but_the_last_column() -> None:
    assert table(("A", "LONGER", "LAST"), [("xyz", None, "free text")]).splitlines() == [
        "A    LONGER  LAST",
        "xyz  -       free text",
    ]
