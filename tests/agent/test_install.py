"""The installer: the unit it writes (checked by a real `systemd-analyze`), file modes and uninstall."""

from __future__ import annotations

import shutil
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from fernwart.agent.cli import main
from fernwart.agent.config import load_config
from fernwart.agent.install import (
    InstallError,
    install,
    installed_config,
    render_unit,
    uninstall,
    unit_path,
)

CONFIG = """\
collector: http://127.0.0.1:9
host_id: host-1
checks:
  - {name: cpu, type: cpu, interval: 60}
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def enrolled(tmp_path: Path) -> Path:
    etc = tmp_path / "etc-fernwart"
    etc.mkdir(mode=0o755)
    (etc / "agent.yaml").write_text(CONFIG)
    (etc / "agent.token").write_text("fwa_secret\n")
    (etc / "agent.token").chmod(0o644)
    return etc / "agent.yaml"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        return subprocess.CompletedProcess(list(argv), 0, "", "")


def test_install_writes_a_hardened_unit_and_tightens_modes(enrolled: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    run = Recorder()
    report = install(enrolled, root=root, run=run)
    unit = unit_path(root).read_text()
    for line in ("Restart=always", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                 "CapabilityBoundingSet=\n", "ProtectHome=", "StateDirectory=fernwart-agent"):
        assert line in unit
    assert f"ReadWritePaths={enrolled.parent} " in unit  # the token's directory: rotation rewrites it
    assert mode(enrolled.parent) == 0o700 and mode(enrolled.parent / "agent.token") == 0o600
    assert run.calls == []  # not the real root: systemctl is never called
    assert any("systemctl enable --now" in line for line in report.lines)
    assert installed_config(root) == enrolled.resolve()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_real_systemd_analyze_verifies_the_unit(enrolled: Path, tmp_path: Path) -> None:
    target = tmp_path / "fernwart-agent.service"
    target.write_text(render_unit(load_config(enrolled), None, ["/bin/true", "run"]))
    done = subprocess.run(["systemd-analyze", "verify", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "fernwart-agent.service" not in done.stderr, done.stderr  # no warning about our unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_real_systemd_analyze_security_rates_the_unit_well(enrolled: Path, tmp_path: Path) -> None:
    target = tmp_path / "fernwart-agent.service"
    target.write_text(render_unit(load_config(enrolled), None, ["/bin/true", "run"]))
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=30", str(target)],
                          capture_output=True, text=True)
    if "--offline" in done.stderr and "unrecognized" in done.stderr:
        pytest.skip("this systemd-analyze has no offline security")
    assert done.returncode == 0, done.stdout + done.stderr  # exposure at most 3.0 ("OK")


def test_install_refuses_an_unenrolled_config_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(InstallError, match="enroll first"):
        install(tmp_path / "missing.yaml", root=root, run=Recorder())
    assert not root.exists()


def test_uninstall_keeps_outbox_and_token_unless_purged(enrolled: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    assert main(["install", "--config", str(enrolled), "--root", str(root)]) == 0
    (enrolled.parent / "outbox.sqlite").write_bytes(b"")
    assert main(["uninstall", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "kept: config" in out and "outbox" in out
    assert not unit_path(root).exists() and (enrolled.parent / "outbox.sqlite").exists()
    assert main(["uninstall", "--root", str(root)]) == 0  # a second time: nothing to do, no error
    assert "nothing to stop" in capsys.readouterr().out


def test_uninstall_purge_removes_config_token_and_outbox(enrolled: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(enrolled, root=root, run=Recorder())
    (enrolled.parent / "outbox.sqlite").write_bytes(b"")
    report = uninstall(purge=True, root=root, run=Recorder())
    assert not enrolled.parent.exists()
    assert any(line.startswith("purged:") for line in report.lines)


def test_install_for_a_service_user_hands_it_the_instance_id(enrolled: Path, tmp_path: Path) -> None:
    import os
    import pwd

    from fernwart.agent.instance import INSTANCE_FILE, instance_id

    if os.geteuid() != 0:
        pytest.skip("changing owners needs root")
    nobody = pwd.getpwnam("nobody")
    made = instance_id(enrolled.parent / "state")  # as enroll, run as root, leaves it (0600)
    install(enrolled, user="nobody", root=tmp_path / "root", run=Recorder())
    stored = enrolled.parent / "state" / INSTANCE_FILE
    assert (stored.stat().st_uid, mode(stored)) == (nobody.pw_uid, 0o600)
    assert made in stored.read_text()
