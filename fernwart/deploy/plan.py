"""What `fernwart deploy` does on one target, and how each step is undone: data, not SSH calls.

On the target (``--prefix``, default /opt/fernwart)::

    PREFIX/venv/            a virtualenv with fernwart and the agent's dependencies (no internet needed)
    PREFIX/deployed.json    what deploy installed there: version, wheel digest, host id, collector
    PREFIX/.deploy-RUN/     this run's wheels and enrollment token (0700); removed at the end
    CONFIG                  the agent's config (default /etc/fernwart/agent.yaml, or PREFIX/etc/agent.yaml
                            for another prefix), its token and outbox beside it

A preflight (one Python one-liner, readable by Python 3.6 so it can say which version it found) tells
what is there; `decide` picks the action: install, upgrade, start, or nothing. Each step carries the
commands that undo it; a failed run undoes the steps it did, newest first, so the host is left as found.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

MIN_PYTHON = (3, 11)
DEFAULT_PREFIX = PurePosixPath("/opt/fernwart")
DEFAULT_CONFIG = PurePosixPath("/etc/fernwart/agent.yaml")
DEPLOYED_FILE = "deployed.json"
AGENT = ("-m", "fernwart.agent.cli")
INSTALL_SERVICE = "install the service"

# Runs on the target under any Python 3; prints one JSON object. argv: prefix, config.
PREFLIGHT = r"""
import json, os, re, socket, sys
prefix, config = sys.argv[1], sys.argv[2]
out = {"python": list(sys.version_info[:3]), "executable": sys.executable,
       "hostname": socket.gethostname(), "uid": os.getuid(),
       "systemd": os.path.isdir("/run/systemd/system"),
       "prefix_exists": os.path.isdir(prefix), "venv_exists": os.path.isdir(os.path.join(prefix, "venv")),
       "config_dir_exists": os.path.isdir(os.path.dirname(config)), "config_exists": os.path.isfile(config)}
try:
    import venv
    out["venv_module"] = True
except ImportError:
    out["venv_module"] = False
try:
    with open(os.path.join(prefix, "deployed.json")) as f:
        out["deployed"] = json.load(f)
except (OSError, ValueError):
    out["deployed"] = None
if out["config_exists"]:
    try:
        with open(config) as f:
            text = f.read()
        for key in ("collector", "host_id"):
            m = re.search(r"^" + key + r":\s*['\"]?([^'\"\s#]+)", text, re.M)
            out[key] = m.group(1) if m else None
    except OSError as e:
        out["config_error"] = str(e)
print(json.dumps(out))
"""

# Starts the agent detached from the SSH session (where systemd does not run). argv: python, config, log.
SPAWN = r"""
import subprocess, sys
python, config, log = sys.argv[1:4]
with open(log, "ab") as out:
    p = subprocess.Popen([python, "-m", "fernwart.agent.cli", "run", "--config", config],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True, close_fds=True)
print(p.pid)
"""

# Stops an agent started by SPAWN, by its pid file; waits up to 60 s for it to end. argv: pid file.
STOP = r"""
import os, signal, sys, time
try:
    pid = int(open(sys.argv[1]).read().strip())
    os.kill(pid, signal.SIGTERM)
except (OSError, ValueError):
    sys.exit(0)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(0)
    time.sleep(0.2)
os.kill(pid, signal.SIGKILL)
"""

# Writes a file atomically with mode 0644. argv: path, text.
WRITE = r"""
import os, sys
path, text = sys.argv[1], sys.argv[2]
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
os.chmod(tmp, 0o644)
os.replace(tmp, path)
"""


class PlanError(Exception):
    """The target cannot take the agent as it is; the message names the cause and what to do."""


class DeployAction(StrEnum):
    INSTALL = "install"      # nothing there: venv, enroll, unit, start
    UPGRADE = "upgrade"      # enrolled, another build installed: new venv, same enrollment, restart
    START = "start"          # this build installed and enrolled, the agent not running: start it
    UNCHANGED = "unchanged"  # this build installed, enrolled, running: nothing to do


class StepKind(StrEnum):
    RUN = "run"              # run `argv` on the target
    UPLOAD = "upload"        # copy the wheels and the enrollment token into the staging directory
    ENROLL = "enroll"        # make a token at the collector, upload it, run `argv` (the agent's enroll)
    RECORD = "record"        # run `argv` with the deployment record (JSON) as its last argument
    WAIT = "wait"            # wait at the collector for the host's first report after this run began


@dataclass(frozen=True)
class RemoteStep:
    """One step: what it is called, what runs, and the commands that undo it (run newest first)."""

    title: str
    kind: StepKind
    argv: tuple[str, ...] = ()
    undo: tuple[tuple[str, ...], ...] = ()
    stdin: str | None = None


@dataclass(frozen=True)
class Layout:
    """Where deploy puts things on the target, and which interpreter makes the virtualenv."""

    prefix: PurePosixPath = DEFAULT_PREFIX
    config: PurePosixPath | None = None
    unit_root: PurePosixPath = PurePosixPath("/")  # relative: below the prefix
    python: str = "python3"
    agent_user: str | None = None

    @property
    def unit_root_path(self) -> PurePosixPath:
        """Return the root the unit is written below: `unit_root`, a relative one taken below the prefix."""
        return self.unit_root if self.unit_root.is_absolute() else self.prefix / self.unit_root

    def systemd_starts(self, found: Found) -> bool:
        """Tell whether `fernwart-agent install` will enable and start the unit (systemd, real root)."""
        return found.systemd and self.unit_root_path == PurePosixPath("/")

    @property
    def config_path(self) -> PurePosixPath:
        """Return the agent config: as given, else /etc/fernwart/agent.yaml (default prefix) or PREFIX/etc."""
        if self.config is not None:
            return self.config
        return DEFAULT_CONFIG if self.prefix == DEFAULT_PREFIX else self.prefix / "etc" / "agent.yaml"

    @property
    def venv(self) -> PurePosixPath:
        return self.prefix / "venv"

    @property
    def previous_venv(self) -> PurePosixPath:
        return self.prefix / "venv.previous"

    @property
    def venv_python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def deployed(self) -> PurePosixPath:
        return self.prefix / DEPLOYED_FILE

    @property
    def pid_file(self) -> PurePosixPath:
        return self.config_path.parent / "state" / "agent.pid"

    @property
    def log_file(self) -> PurePosixPath:
        return self.prefix / "agent.log"

    def staging(self, run_id: str) -> PurePosixPath:
        return self.prefix / f".deploy-{run_id}"

    def preflight(self) -> tuple[str, ...]:
        """Return the argv of the preflight (its output: `parse_preflight`)."""
        return (self.python, "-c", PREFLIGHT, str(self.prefix), str(self.config_path))

    def agent(self, *args: str) -> tuple[str, ...]:
        """Return the argv of `fernwart-agent ARGS` from the virtualenv."""
        return (self.venv_python, *AGENT, *args)


@dataclass(frozen=True)
class Found:
    """What the preflight found on the target."""

    python: tuple[int, ...]
    hostname: str
    systemd: bool
    venv_module: bool
    prefix_exists: bool
    venv_exists: bool
    config_dir_exists: bool
    config_exists: bool
    deployed: dict[str, Any] | None = None
    collector: str | None = None
    host_id: str | None = None
    uid: int = -1

    @property
    def python_text(self) -> str:
        return ".".join(str(p) for p in self.python)


def parse_preflight(stdout: str) -> Found:
    """Return what the preflight's `stdout` says; PlanError when it is not the preflight's JSON."""
    try:
        raw = json.loads(stdout.strip().splitlines()[-1])
        return Found(
            python=tuple(int(p) for p in raw["python"]), hostname=str(raw["hostname"]),
            systemd=bool(raw["systemd"]), venv_module=bool(raw["venv_module"]),
            prefix_exists=bool(raw["prefix_exists"]), venv_exists=bool(raw["venv_exists"]),
            config_dir_exists=bool(raw["config_dir_exists"]), config_exists=bool(raw["config_exists"]),
            deployed=raw.get("deployed") if isinstance(raw.get("deployed"), dict) else None,
            collector=raw.get("collector"), host_id=raw.get("host_id"), uid=int(raw.get("uid", -1)),
        )
    except (ValueError, KeyError, IndexError, TypeError):
        raise PlanError(f"the preflight on the target answered something else: {stdout[:200]!r}") from None


@dataclass(frozen=True)
class Wanted:
    """What this run installs: fernwart's version and wheel digest, and the collector agents report to."""

    version: str
    sha256: str
    collector: str


def decide(found: Found, wanted: Wanted, running: bool | None = None) -> DeployAction:
    """Return what to do on a target; raise PlanError when the target cannot take the agent.

    `running` is whether this build's agent runs and delivers (asked only when the build matches).
    """
    if found.python < MIN_PYTHON:
        raise PlanError(f"the target has Python {found.python_text}; Fernwart needs Python "
                        f"{'.'.join(map(str, MIN_PYTHON))} or newer: install it, or pass --python PATH")
    if not found.venv_module:
        raise PlanError(f"Python {found.python_text} on the target has no venv module; install it "
                        "(Debian: apt install python3-venv)")
    if found.config_exists:
        if found.collector is None or found.host_id is None:
            raise PlanError("the target has an agent config without collector/host_id; remove it or fix it")
        if found.collector.rstrip("/") != wanted.collector.rstrip("/"):
            raise PlanError(f"the target's agent reports to {found.collector}, not {wanted.collector}; "
                            "uninstall it there first (fernwart-agent uninstall --purge)")
    deployed = found.deployed or {}
    same_build = (deployed.get("version") == wanted.version and deployed.get("sha256") == wanted.sha256
                  and found.venv_exists)
    if found.config_exists and same_build and deployed.get("host_id") == found.host_id:
        return DeployAction.UNCHANGED if running else DeployAction.START
    if found.config_exists:
        return DeployAction.UPGRADE
    return DeployAction.INSTALL


def _rm(*paths: PurePosixPath) -> tuple[str, ...]:
    return ("rm", "-rf", "--", *(str(p) for p in paths))


@dataclass(frozen=True)
class Options:
    """Choices of the run that shape the steps."""

    run_id: str
    wheel_names: tuple[str, ...]
    installer: str  # pip's wheel file name; pip runs from it
    fernwart_requirement: str  # e.g. fernwart==0.2.0
    hostname: str
    replace: bool = False
    start_without_systemd: bool = False
    collector: str = ""


def _start_steps(layout: Layout, found: Found, options: Options) -> list[RemoteStep]:
    """Return how the agent is started, or nothing where it cannot be (no systemd, no spawning)."""
    if layout.systemd_starts(found):
        return []  # `install` enabled and started the unit
    if not options.start_without_systemd:
        return []
    return [RemoteStep("start the agent (no systemd)", StepKind.RUN,
                 (layout.venv_python, "-c", SPAWN, layout.venv_python, str(layout.config_path),
                  str(layout.log_file)),
                 undo=((layout.venv_python, "-c", STOP, str(layout.pid_file)),))]


def _stop_step(layout: Layout, found: Found, options: Options) -> RemoteStep:
    if layout.systemd_starts(found):
        return RemoteStep("stop the agent", StepKind.RUN, ("systemctl", "stop", "fernwart-agent.service"),
                    undo=(("systemctl", "start", "fernwart-agent.service"),))
    python = layout.venv_python
    restart = (python, "-c", SPAWN, python, str(layout.config_path), str(layout.log_file))
    # Under a spawned agent the interpreter is the venv's python, which step "move the old venv" moves.
    return RemoteStep("stop the agent", StepKind.RUN, (layout.python, "-c", STOP, str(layout.pid_file)),
                undo=(restart,) if options.start_without_systemd else ())


def install_unit_argv(layout: Layout, found: Found) -> tuple[str, ...]:
    """Return `fernwart-agent install` with --no-start where systemd does not run."""
    args = ["install", "--config", str(layout.config_path), "--root", str(layout.unit_root_path)]
    if layout.agent_user:
        args += ["--user", layout.agent_user]
    if not layout.systemd_starts(found):
        args.append("--no-start")
    return layout.agent(*args)


def steps(action: DeployAction, layout: Layout, found: Found, options: Options) -> list[RemoteStep]:
    """Return the steps of `action` on a target in the state `found`, each with its undo."""
    if action is DeployAction.UNCHANGED:
        return []
    if action is DeployAction.START:
        return [*_start_steps(layout, found, options), RemoteStep("wait for the first report", StepKind.WAIT)]
    staging = layout.staging(options.run_id)
    plan: list[RemoteStep] = []
    if not found.prefix_exists:
        plan.append(RemoteStep(f"create {layout.prefix}", StepKind.RUN, ("mkdir", "-p", "-m", "0755", "--",
                                                                   str(layout.prefix)),
                         undo=(_rm(layout.prefix),)))
    plan.append(RemoteStep("create the staging directory", StepKind.RUN,
                     ("mkdir", "-m", "0700", "--", str(staging)), undo=(_rm(staging),)))
    plan.append(RemoteStep(f"copy {len(options.wheel_names)} wheels", StepKind.UPLOAD))
    if action is DeployAction.UPGRADE:
        plan.append(_stop_step(layout, found, options))
    if found.venv_exists:
        plan.append(RemoteStep("move the old virtualenv aside", StepKind.RUN,
                         ("mv", "-T", "--", str(layout.venv), str(layout.previous_venv)),
                         undo=(_rm(layout.venv), ("mv", "-T", "--", str(layout.previous_venv),
                                                  str(layout.venv)))))
    plan.append(RemoteStep("create the virtualenv", StepKind.RUN,
                           (layout.python, "-m", "venv", "--without-pip", str(layout.venv)),
                           undo=(_rm(layout.venv),)))
    plan.append(RemoteStep("install the packages", StepKind.RUN,
                     (layout.venv_python, str(staging / options.installer / "pip"), "install", "--quiet",
                      "--disable-pip-version-check", "--no-index", "--no-cache-dir", "--find-links",
                      str(staging), options.fernwart_requirement)))
    if action is DeployAction.INSTALL:
        config_dir = layout.config_path.parent
        if found.config_dir_exists:
            config = layout.config_path
            undo_enroll = (_rm(config, config.parent / "agent.token", config.parent / "outbox.sqlite",
                               config.parent / "outbox.sqlite-wal", config.parent / "outbox.sqlite-shm",
                               config.parent / "state"),)
        else:
            undo_enroll = (_rm(config_dir),)
        enroll = ["enroll", "--collector", options.collector, "--token-file",
                  str(staging / "enroll.token"), "--config", str(layout.config_path), "--hostname",
                  options.hostname]
        if options.replace:
            enroll.append("--replace")
        plan.append(RemoteStep("enroll with the collector", StepKind.ENROLL, layout.agent(*enroll),
                         undo=undo_enroll))
    # An upgrade rewrites the unit the host had (same paths); only a new install's unit is removed again.
    uninstall = (layout.agent("uninstall", "--root", str(layout.unit_root_path)),)
    plan.append(RemoteStep(INSTALL_SERVICE, StepKind.RUN, install_unit_argv(layout, found),
                     undo=uninstall if action is DeployAction.INSTALL else ()))
    plan += _start_steps(layout, found, options)
    write = (layout.python, "-c", WRITE, str(layout.deployed))
    plan.append(RemoteStep("record the deployment", StepKind.RECORD, write,
                     undo=((*write, json.dumps(found.deployed)),) if found.deployed
                     else (("rm", "-f", "--", str(layout.deployed)),)))
    plan.append(RemoteStep("wait for the first report", StepKind.WAIT))
    plan.append(RemoteStep("clean up", StepKind.RUN, _rm(staging, layout.previous_venv)))
    return plan


def undo_commands(done: Sequence[RemoteStep]) -> list[tuple[str, ...]]:
    """Return the undo commands of the `done` steps, newest step first."""
    return [argv for step in reversed(done) for argv in step.undo]


def shell_text(argv: Sequence[str]) -> str:
    """Return `argv` as one POSIX shell command line (what an SSH exec request carries)."""
    return shlex.join(argv)
