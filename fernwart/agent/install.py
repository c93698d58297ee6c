"""Install the agent as a hardened systemd service, and remove it again.

`install` takes an enrolled config, tightens its files (config directory 0700, token 0600, owned by the
service user when one is given), writes ``fernwart-agent.service`` and, where systemd runs, enables and
starts it. Where systemd does not run (a container, an image being built under ``root``), the unit is
written and the caller is told how to start the agent. `uninstall` stops and removes the unit and keeps
config, token and outbox unless `purge` is set.

The unit denies what the built-in checks do not need. To grant more, add a drop-in with
``systemctl edit fernwart-agent`` (see README, "Granting checks more access"), e.g. for the journal::

    [Service]
    SupplementaryGroups=systemd-journal

`root` prefixes every path the installer writes (unit, state directory), like ``systemctl --root``;
with a root other than ``/`` no user is created and systemctl is never called. Commands run through an
injected `run` so tests can see them without a systemd.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fernwart.agent.config import AgentConfig, load_config
from fernwart.agent.instance import INSTANCE_FILE

UNIT_NAME = "fernwart-agent.service"
UNIT_DIR = Path("etc/systemd/system")
STATE_DIRECTORY = "fernwart-agent"  # systemd's StateDirectory=, i.e. /var/lib/fernwart-agent
DEFAULT_CONFIG = Path("/etc/fernwart/agent.yaml")

Run = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class InstallError(Exception):
    """Raised when the service cannot be installed or removed; the message names the cause."""


@dataclass(frozen=True)
class InstallReport:
    """What install or uninstall did, as lines for the operator."""

    unit_path: Path
    lines: tuple[str, ...]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv`, capturing output; never raise for a non-zero exit (callers decide)."""
    return subprocess.run(list(argv), capture_output=True, text=True, check=False)


def systemd_running(root: Path) -> bool:
    """Tell whether systemd manages this machine (sd_booted's test), and only for root ``/``."""
    return root == Path("/") and Path("/run/systemd/system").is_dir()


def agent_command(config_path: Path) -> list[str]:
    """Return the ExecStart argv: this interpreter running the agent's CLI on `config_path`."""
    return [sys.executable, "-m", "fernwart.agent.cli", "run", "--config", str(config_path)]


def writable_paths(config: AgentConfig) -> list[Path]:
    """Return the directories the agent writes: the token's (rotation), the outbox's and the state dir."""
    dirs: list[Path] = []
    for path in (config.token_file.parent, config.outbox.parent, config.state_dir):
        if path not in dirs:
            dirs.append(path)
    return dirs


def render_unit(config: AgentConfig, user: str | None, executable: Sequence[str]) -> str:
    """Return the unit text; `user` None runs as root, still without capabilities."""
    exec_start = " ".join(shlex.quote(part) for part in executable)
    # A virtualenv under /home or /root must stay readable for the service to start at all.
    under_home = str(Path(executable[0]).resolve()).startswith(("/home/", "/root/"))
    home = "read-only" if under_home else "yes"
    rw = " ".join(shlex.quote(str(p)) for p in writable_paths(config))
    user_lines = f"User={user}\nGroup={user}\n" if user else ""
    return f"""\
# Written by `fernwart-agent install`; `fernwart-agent uninstall` removes it.
# Grant checks more access with a drop-in (`systemctl edit fernwart-agent`), not by editing this file.
[Unit]
Description=Fernwart agent (remote maintenance checks for {config.collector})
Documentation=https://github.com/fernwart/fernwart#installing-an-agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={exec_start}
Restart=always
RestartSec=10
{user_lines}UMask=0077
StateDirectory={STATE_DIRECTORY}
StateDirectoryMode=0700
ReadWritePaths={rw}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome={home}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
PrivateMounts=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
CapabilityBoundingSet=
AmbientCapabilities=

[Install]
WantedBy=multi-user.target
"""


def unit_path(root: Path) -> Path:
    """Return where the unit lives under `root`."""
    return root / UNIT_DIR / UNIT_NAME


def install(
    config_path: Path, *, user: str | None = None, start: bool = True, root: Path = Path("/"),
    run: Run = run_command,
) -> InstallReport:
    """Install the service for the enrolled config at `config_path`; raise InstallError on failure.

    A missing or unusable config is refused before anything is written. Rerunning rewrites the same unit.
    """
    if not config_path.exists():
        raise InstallError(f"{config_path}: no config; enroll first (fernwart-agent enroll "
                           f"--collector URL --token-file FILE --config {config_path})")
    config = load_config(config_path)
    if not config.token_file.exists():
        raise InstallError(f"{config.token_file}: no agent token; enroll first")
    lines: list[str] = []
    real = root == Path("/")
    uid = gid = None
    if user:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            if not real:
                lines.append(f"user {user} does not exist here; create it on the target before starting")
                entry = None
            else:
                _must(run, ["useradd", "--system", "--home-dir", f"/var/lib/{STATE_DIRECTORY}",
                            "--no-create-home", "--shell", "/usr/sbin/nologin", user], f"create user {user}")
                entry = pwd.getpwnam(user)
                lines.append(f"created system user {user}")
        if entry is not None:
            uid, gid = entry.pw_uid, entry.pw_gid
    config_dir = config.path.parent
    config_dir.chmod(0o700)
    config.token_file.chmod(0o600)
    config.path.chmod(0o600)
    for directory in writable_paths(config):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (config_dir, config.path, config.token_file, *writable_paths(config)):
        if uid is not None and gid is not None:
            os.chown(path, uid, gid)
    # the instance id enroll made (as root): the service user must read it, or it would make a new one
    # and be refused as a clone of its own host
    for path in (config.outbox, *_sqlite_siblings(config.outbox), config.state_dir / INSTANCE_FILE):
        if uid is not None and gid is not None and path.exists():
            os.chown(path, uid, gid)
    target = unit_path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_unit(config, user, agent_command(config.path)), encoding="utf-8")
    target.chmod(0o644)
    lines.append(f"unit:   {target}")
    lines.append(f"config: {config.path} (directory 0700, token 0600)")
    if systemd_running(root):
        _must(run, ["systemctl", "daemon-reload"], "reload systemd")
        if start:
            _must(run, ["systemctl", "enable", "--now", UNIT_NAME], f"enable and start {UNIT_NAME}")
            lines.append(f"enabled and started {UNIT_NAME}; "
                         f"see `fernwart-agent status --config {config.path}`")
        else:
            _must(run, ["systemctl", "enable", UNIT_NAME], f"enable {UNIT_NAME}")
            lines.append(f"enabled, not started; start with `systemctl start {UNIT_NAME}`")
    elif real:
        lines.append("systemd is not running here; start the agent with "
                     f"`{shlex.join(agent_command(config.path))}` (as {user or 'root'})")
    else:
        lines.append(f"written under {root}; on the target: `systemctl enable --now {UNIT_NAME}`")
    return InstallReport(target, tuple(lines))


def installed_config(root: Path) -> Path | None:
    """Return the config path named in the installed unit's ExecStart, or None when there is no unit."""
    try:
        text = unit_path(root).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("ExecStart="):
            argv = shlex.split(line.removeprefix("ExecStart="))
            if "--config" in argv[:-1]:
                return Path(argv[argv.index("--config") + 1])
    return None


def uninstall(*, purge: bool = False, root: Path = Path("/"), run: Run = run_command) -> InstallReport:
    """Stop and remove the service; keep config, token and outbox unless `purge`. Idempotent."""
    target = unit_path(root)
    config_path = installed_config(root)
    lines: list[str] = []
    if systemd_running(root) and target.exists():
        run(["systemctl", "disable", "--now", UNIT_NAME])  # a unit already stopped is not an error
    if target.exists():
        target.unlink()
        lines.append(f"removed {target}")
        if systemd_running(root):
            run(["systemctl", "daemon-reload"])
    else:
        lines.append(f"no unit at {target}; nothing to stop")
    config = _try_load(config_path)
    state = root / "var/lib" / STATE_DIRECTORY
    if purge:
        removed: list[Path] = []
        if config is not None:
            for path in (config.token_file, config.outbox, *_sqlite_siblings(config.outbox), config.path):
                if path.exists():
                    path.unlink()
                    removed.append(path)
            for directory in (config.state_dir, state):
                if directory.exists():
                    shutil.rmtree(directory)
                    removed.append(directory)
            try:
                config.path.parent.rmdir()  # only when nothing else lives there
                removed.append(config.path.parent)
            except OSError:
                pass
        lines.append("purged: " + (", ".join(str(p) for p in removed) or "nothing found"))
    elif config is not None:
        lines.append(f"kept: config {config.path}, token {config.token_file}, outbox {config.outbox} "
                     "(remove them with --purge)")
    return InstallReport(target, tuple(lines))


def _try_load(config_path: Path | None) -> AgentConfig | None:
    if config_path is None or not config_path.exists():
        return None
    try:
        return load_config(config_path)
    except ValueError:
        return None


def _sqlite_siblings(path: Path) -> tuple[Path, ...]:
    return (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))


def _must(run: Run, argv: Sequence[str], what: str) -> None:
    done = run(argv)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout or "").strip()
        raise InstallError(f"cannot {what}: {shlex.join(argv)} exited {done.returncode}: {detail}")
