"""The shipped playbooks travel with the package and `fernwart-agent install-playbooks` copies them."""

from __future__ import annotations

import sys
import tomllib
from glob import glob
from pathlib import Path

import pytest

from fernwart.agent import cli
from fernwart.agent.playbooks import shipped
from tests.support import REPO


def test_the_wheel_carries_every_shipped_playbook() -> None:
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    globs = data_files[str(shipped.SHARE)]
    packaged = {Path(p).name for pattern in globs for p in glob(str(REPO / pattern))}
    assert packaged == {p.name for p in (REPO / "playbooks").glob("*.yaml")} and len(packaged) == 13


def test_an_installation_finds_them_under_its_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    share = tmp_path / shipped.SHARE
    share.mkdir(parents=True)
    (share / "disk-full.yaml").write_bytes((REPO / "playbooks" / "disk-full.yaml").read_bytes())
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert shipped.shipped_directory() == share


def test_install_playbooks_copies_keeps_local_edits_and_replaces_them_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "playbooks"
    assert cli.main(["install-playbooks", "--dir", str(target), "--from", str(REPO / "playbooks")]) == 0
    assert {p.name for p in target.glob("*.yaml")} == {p.name for p in (REPO / "playbooks").glob("*.yaml")}
    edited = target / "disk-full.yaml"
    edited.write_text(edited.read_text() + "# local\n")
    (target / "playbooks.sig").write_text("{}")
    assert cli.main(["install-playbooks", "--dir", str(target), "--from", str(REPO / "playbooks")]) == 0
    out = capsys.readouterr().out
    assert f"kept {edited}: it differs" in out and "unchanged" in out and "sign it again" not in out
    assert edited.read_text().endswith("# local\n")
    assert cli.main(["install-playbooks", "--dir", str(target), "--from", str(REPO / "playbooks"),
                     "--force"]) == 0
    forced = capsys.readouterr().out
    assert f"installed {edited}" in forced and "is signed: sign it again" in forced
    assert edited.read_bytes() == (REPO / "playbooks" / "disk-full.yaml").read_bytes()
