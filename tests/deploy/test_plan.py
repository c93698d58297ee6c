"""The remote plan as data: what preflight finds, what is decided, and that every step can be undone."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pytest

from fernwart.deploy import plan
from fernwart.deploy.plan import DeployAction, Found, Layout, Options, PlanError, StepKind, Wanted

WANTED = Wanted("0.2.0", "ab" * 32, "http://collector:8750")
FRESH = Found(python=(3, 11, 2), hostname="web01", systemd=True, venv_module=True, prefix_exists=False,
              venv_exists=False, config_dir_exists=False, config_exists=False)
DEPLOYED = replace(FRESH, prefix_exists=True, venv_exists=True, config_dir_exists=True, config_exists=True,
                   collector="http://collector:8750", host_id="h-1",
                   deployed={"version": "0.2.0", "sha256": "ab" * 32, "host_id": "h-1"})
OPTIONS = Options("r1", ("fernwart-0.2.0-py3-none-any.whl",), "pip-23.2.1-py3-none-any.whl",
                  "fernwart==0.2.0", "web01",
                  collector="http://collector:8750")


def test_the_preflight_runs_here_and_reports_the_state(tmp_path: Path) -> None:
    layout = Layout(prefix=PurePosixPath(tmp_path / "opt"))
    done = subprocess.run([sys.executable, *layout.preflight()[1:]], capture_output=True, text=True,
                          check=True)
    found = plan.parse_preflight(done.stdout)
    assert found.python == tuple(sys.version_info[:3]) and found.venv_module
    assert not found.prefix_exists and not found.config_exists and found.deployed is None
    assert layout.config_path == PurePosixPath(tmp_path / "opt" / "etc" / "agent.yaml")
    assert Layout().config_path == PurePosixPath("/etc/fernwart/agent.yaml")


def test_the_preflight_reads_an_enrolled_config(tmp_path: Path) -> None:
    layout = Layout(prefix=PurePosixPath(tmp_path))
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "agent.yaml").write_text("collector: http://c:1\nhost_id: 'abc-1'\nchecks: []\n")
    (tmp_path / "deployed.json").write_text(json.dumps({"version": "0.2.0"}))
    done = subprocess.run([sys.executable, *layout.preflight()[1:]], capture_output=True, text=True,
                          check=True)
    found = plan.parse_preflight(done.stdout)
    assert (found.collector, found.host_id, found.deployed) == ("http://c:1", "abc-1", {"version": "0.2.0"})


def test_decisions() -> None:
    assert plan.decide(FRESH, WANTED) is DeployAction.INSTALL
    assert plan.decide(DEPLOYED, WANTED, running=True) is DeployAction.UNCHANGED
    assert plan.decide(DEPLOYED, WANTED, running=False) is DeployAction.START
    assert plan.decide(DEPLOYED, replace(WANTED, sha256="cd" * 32), running=True) is DeployAction.UPGRADE
    assert plan.decide(replace(DEPLOYED, deployed=None), WANTED) is DeployAction.UPGRADE  # enrolled by hand


@pytest.mark.parametrize(("found", "cause"), [
    (replace(FRESH, python=(3, 9, 2)), "the target has Python 3.9.2; Fernwart needs Python 3.11 or newer"),
    (replace(FRESH, venv_module=False), "no venv module; install it (Debian: apt install"),
    (replace(DEPLOYED, collector="http://other:8750"), "reports to http://other:8750, not http://collector"),
])
def test_targets_that_cannot_take_the_agent_are_named(found: Found, cause: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan.decide(found, WANTED)
    assert cause in str(caught.value)


def test_an_install_undoes_everything_it_created_newest_first() -> None:
    layout = Layout()
    steps = plan.steps(DeployAction.INSTALL, layout, FRESH, OPTIONS)
    titles = [s.title for s in steps]
    assert titles == ["create /opt/fernwart", "create the staging directory", "copy 1 wheels",
                      "create the virtualenv", "install the packages", "enroll with the collector",
                      "install the service", "record the deployment", "wait for the first report",
                      "clean up"]
    enroll = next(s for s in steps if s.kind is StepKind.ENROLL)
    assert "--token-file" in enroll.argv and "--token" not in enroll.argv  # never in `ps`
    undo = plan.undo_commands(steps[:8])
    assert undo[0] == ("rm", "-f", "--", "/opt/fernwart/deployed.json")
    assert undo[1] == (layout.venv_python, "-m", "fernwart.agent.cli", "uninstall", "--root", "/")
    assert undo[2] == ("rm", "-rf", "--", "/etc/fernwart")
    assert undo[-1] == ("rm", "-rf", "--", "/opt/fernwart")
    install = next(s for s in steps if s.title == plan.INSTALL_SERVICE)
    assert "--no-start" not in install.argv  # systemd runs: install enables and starts the unit


def test_an_existing_config_directory_is_not_removed_only_what_enroll_wrote() -> None:
    found = replace(FRESH, prefix_exists=True, config_dir_exists=True)
    steps = plan.steps(DeployAction.INSTALL, Layout(), found, OPTIONS)
    enroll = next(s for s in steps if s.kind is StepKind.ENROLL)
    assert enroll.undo[0][:3] == ("rm", "-rf", "--") and "/etc/fernwart" not in enroll.undo[0]
    assert "/etc/fernwart/agent.yaml" in enroll.undo[0] and "/etc/fernwart/agent.token" in enroll.undo[0]
    assert not any(s.title.startswith("create /opt") for s in steps)


def test_without_systemd_the_unit_is_written_and_the_agent_spawned_only_when_asked() -> None:
    found = replace(FRESH, systemd=False)
    quiet = plan.steps(DeployAction.INSTALL, Layout(), found, OPTIONS)
    assert "--no-start" in next(s for s in quiet if s.title == plan.INSTALL_SERVICE).argv
    assert not any(s.title.startswith("start") for s in quiet)
    spawned = plan.steps(DeployAction.INSTALL, Layout(), found, replace(OPTIONS, start_without_systemd=True))
    start = next(s for s in spawned if s.title.startswith("start"))
    assert start.undo[0][-1] == "/etc/fernwart/state/agent.pid"  # undone by stopping that process


def test_an_upgrade_keeps_the_enrollment_and_can_restore_the_old_venv() -> None:
    old = replace(DEPLOYED, deployed={"version": "0.1.0", "sha256": "00", "host_id": "h-1"})
    steps = plan.steps(DeployAction.UPGRADE, Layout(), old, OPTIONS)
    assert not any(s.kind is StepKind.ENROLL for s in steps)
    titles = [s.title for s in steps]
    assert titles.index("stop the agent") < titles.index("move the old virtualenv aside")
    undo = plan.undo_commands(steps[:-2])
    restore = undo.index(("mv", "-T", "--", "/opt/fernwart/venv.previous", "/opt/fernwart/venv"))
    assert undo.index(("systemctl", "start", "fernwart-agent.service")) > restore  # the old agent again
    record = next(s for s in steps if s.kind is StepKind.RECORD)
    assert json.loads(record.undo[0][-1])["version"] == "0.1.0"  # the old record comes back


def test_unchanged_does_nothing_and_start_only_starts() -> None:
    assert plan.steps(DeployAction.UNCHANGED, Layout(), DEPLOYED, OPTIONS) == []
    start = plan.steps(DeployAction.START, Layout(), replace(DEPLOYED, systemd=False),
                       replace(OPTIONS, start_without_systemd=True))
    assert [s.kind for s in start] == [StepKind.RUN, StepKind.WAIT]
