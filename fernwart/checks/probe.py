"""The I/O a check may use, injected so that every check is tested against fixtures.

A `Probe` bundles the system interfaces (psutil, the process list, subprocess, clock, sleep, sockets,
name resolution, UDP, HTTP, files, statvfs, executable lookup) plus the
run's `timeout`. The agent builds one real probe and hands each run a copy with that check's timeout;
tests build probes whose members return canned data.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fernwart.checks.procfs import ProcessInfo, list_processes

OUTPUT_LIMIT = 64 * 1024  # bytes kept from a command's stdout/stderr each


@dataclass(frozen=True)
class CommandResult:
    """What a finished (or killed) command left behind.

    `returncode` is negative (-signal) when a signal ended it; `timed_out` is True when we killed it;
    `start_error` says why the command could not be started at all (empty when it ran).
    """

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    start_error: str = ""


def run_command(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None) -> CommandResult:
    """Run `argv` (never through a shell) and kill its whole process group at `timeout` seconds.

    A missing executable gives returncode 127, a non-executable one 126, as a shell would report them.
    """
    args = tuple(str(a) for a in argv)
    try:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError:
        return CommandResult(args, 127, "", f"{args[0]}: not found", start_error=f"{args[0]}: not found")
    except PermissionError:
        message = f"{args[0]}: permission denied"
        return CommandResult(args, 126, "", message, start_error=message)
    except OSError as exc:  # e.g. ENOEXEC: a file without a #! line or for another architecture
        message = f"{args[0]}: {exc.strerror or exc}"
        return CommandResult(args, 126, "", message, start_error=message)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        timed_out = True
    return CommandResult(
        args,
        proc.returncode,
        _text(out),
        _text(err),
        timed_out,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _text(raw: bytes) -> str:
    return raw[:OUTPUT_LIMIT].decode("utf-8", errors="replace")


def udp_exchange(address: str, port: int, payload: bytes, timeout: float) -> bytes:
    """Send one datagram to `address` (a literal IP) and return the first reply.

    Raise TimeoutError when nothing arrives within `timeout` seconds, OSError for network errors.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((address, port))  # a connected UDP socket only accepts replies from that peer
        sock.send(payload)
        return sock.recv(4096)


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def _psutil() -> Any:
    import psutil

    return psutil


def _http_client() -> Any:
    from fernwart.httpclient import HttpClient

    return HttpClient()  # no keep-alive: the http check times a fresh connection each run


@dataclass(frozen=True)
class Probe:
    """The system interfaces a check may touch, and the timeout of the current run in seconds."""

    timeout: float = 10.0
    state_dir: Path = field(default_factory=lambda: Path(os.environ.get("FERNWART_HOME", ".")) / "state")
    psutil: Any = field(default_factory=_psutil)
    processes: Callable[[frozenset[str]], Iterable[ProcessInfo]] = list_processes
    run: Callable[..., CommandResult] = run_command
    now: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    connect: Callable[..., socket.socket] = socket.create_connection
    http: Any = field(default_factory=_http_client)
    read_text: Callable[[Path], str] = lambda p: Path(p).read_text()
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    sleep: Callable[[float], None] = time.sleep
    statvfs: Callable[[str], os.statvfs_result] = os.statvfs
    resolve: Callable[..., list[Any]] = socket.getaddrinfo
    udp_exchange: Callable[[str, int, bytes, float], bytes] = udp_exchange
    which: Callable[[str], str | None] = lambda name: shutil.which(name)

    def with_timeout(self, timeout: float) -> Probe:
        """Return a copy of this probe for one run limited to `timeout` seconds."""
        return replace(self, timeout=timeout)
