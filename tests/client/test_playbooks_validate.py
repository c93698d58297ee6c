"""`fernwart playbooks validate` and `fernwart-agent playbooks`: every problem named with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from fernwart.agent import cli as agent_cli
from fernwart.client.cli import main
from tests.support import REPO

BAD = """name: broken
version: 1
kind: diagnostic
timeout: 10s
params: {unit: {type: string, pattern: "[a-z]+"}}
steps:
  - {name: a, run: [systemctl, "--unit={unit}"]}
  - {name: b, read_file: /etc/shadow}
"""


def test_validate_names_each_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(BAD)
    assert main(["playbooks", "validate", str(bad), str(REPO / "playbooks" / "disk-full.yaml")]) == 1
    out, err = capsys.readouterr()
    assert f"{bad}: steps[0] (a).run[1]: '--unit={{unit}}': a parameter is substituted only as a whole" in err
    assert f"{bad}: steps[1] (b).read_file[0]: '/etc/shadow' lies outside read_roots" in err
    assert "disk-full.yaml: ok: disk-full v1 diagnostic" in out


def test_validate_needs_no_collector(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (REPO / "playbooks").glob("*.yaml"))
    assert main(["playbooks", "validate", *files], environ={}) == 0
    assert capsys.readouterr().out.count(": ok: ") == len(files)


def test_agent_lists_held_playbooks_with_hashes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.yaml").write_text("name: ok\nversion: 3\nkind: repair\ntimeout: 5s\n"
                                      "steps: [{name: a, run: [true]}]\n")
    (tmp_path / "broken.yaml").write_text(BAD)
    assert agent_cli.main(["playbooks", "--dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "ok v3 repair sha256:" in out and "repairs not allowed" in out
    assert "broken.yaml: steps[0] (a).run[1]" in err
