"""The one SSH runner: connect with timeouts and a strict host-key policy, run argv lists, copy files.

    known = KnownHosts(settings.ssh_known_hosts)
    with connect(SSHTarget("10.0.0.5", 22, "fernwart"), known, Credentials(key_file=key)) as ssh:
        ran = ssh.run(["df", "-h", "/var"], deadline=time.monotonic() + 10, output_cap=65536)
        ssh.put_file(Path("agent.tar.gz"), "/tmp/agent.tar.gz", 0o600)

- Host keys: only those in the managed known_hosts file (paramiko's RejectPolicy); an unknown key raises
  UnknownHostKey with its fingerprint, a different key HostKeyChanged with both fingerprints.
- Commands: an argv, each argument quoted with shlex.quote, so the remote shell sees exactly these words
  and no shell syntax; the argv must come from the caller's own data (a playbook the collector holds),
  never from a string received over the network. The program runs in a process group of its own
  (``setsid``), optionally with a fixed environment (``env -i``); at the deadline the whole group is
  killed (SIGKILL over a second channel) and the output so far kept. The remote side needs a POSIX
  login shell, ``setsid`` (util-linux), ``kill`` and ``env``.
- stdout and stderr are drained together as they arrive, so a program never blocks on a full pipe;
  beyond `output_cap` bytes (both streams together) output is read and dropped, and the run says so.
"""

from __future__ import annotations

import select
import shlex
import socket
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import paramiko

from fernwart.ssh.errors import (
    AuthFailed,
    ConnectionRefused,
    HostKeyChanged,
    SSHError,
    SSHTimeout,
    SSHUnavailable,
    UnknownHostKey,
)
from fernwart.ssh.fingerprints import fingerprint
from fernwart.ssh.known_hosts import KnownHosts, host_key_name

PGID_MARK = b"fernwart-pgid:"
READ_CHUNK = 65536
KILL_WAIT = 5.0  # seconds to wait for the kill command's own channel


@dataclass(frozen=True)
class SSHTarget:
    """Where to connect and as whom."""

    address: str
    port: int = 22
    user: str = "fernwart"

    @property
    def name(self) -> str:
        """Return the server's name as known_hosts spells it (``[address]:port`` off port 22)."""
        return host_key_name(self.address, self.port)


@dataclass(frozen=True)
class Credentials:
    """Key-based authentication: a private key file (the collector's own), an SSH agent, or both."""

    key_file: Path | None = None
    use_agent: bool = False


@dataclass(frozen=True)
class Timeouts:
    """Seconds each stage may take: TCP connect, the server's banner, authentication, opening a channel
    (and each SFTP operation)."""

    connect: float = 10.0
    banner: float = 15.0
    auth: float = 15.0
    channel: float = 30.0


@dataclass(frozen=True)
class RemoteRun:
    """A finished remote command. `exit_status` is None when it was killed at the deadline (or the
    server sent none); `truncated` says output beyond the cap was dropped."""

    exit_status: int | None
    stdout: bytes
    stderr: bytes
    duration: float
    truncated: bool
    timed_out: bool

    def output(self) -> str:
        """Return stdout, then stderr under a ``[stderr]`` line when there is any, as text."""
        text = self.stdout.decode("utf-8", errors="replace")
        if self.stderr:
            text += ("" if not text or text.endswith("\n") else "\n") + "[stderr]\n"
            text += self.stderr.decode("utf-8", errors="replace")
        return text


class _RejectRecording(paramiko.RejectPolicy):
    """RejectPolicy that says which key it rejected, so the person can check the fingerprint."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> NoReturn:
        raise UnknownHostKey(hostname, key.get_name(), fingerprint(key))


def remote_command(argv: Sequence[str], environment: Mapping[str, str] | None = None) -> str:
    """Return the command line sent to the server for `argv`: every word quoted, in its own group.

    The wrapper prints ``fernwart-pgid:<id>`` first (the process group to kill at the deadline), then
    execs the program, so the program keeps the group leader's pid.
    """
    if not argv:
        raise ValueError("an argv needs at least the program")
    words = ["setsid", "-w", "sh", "-c", 'echo "fernwart-pgid:$$"; exec "$@"', "fernwart"]
    if environment is not None:
        words += ["env", "-i", *(f"{name}={value}" for name, value in environment.items())]
    words += [str(a) for a in argv]
    return " ".join(shlex.quote(w) for w in words)


class SSHConnection:
    """An authenticated connection to one server; use as a context manager or call `close()`."""

    def __init__(self, client: paramiko.SSHClient, target: SSHTarget, timeouts: Timeouts,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self.target = target
        self.timeouts = timeouts
        self._monotonic = monotonic

    def __enter__(self) -> SSHConnection:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def run(self, argv: Sequence[str], deadline: float, output_cap: int, *,
            environment: Mapping[str, str] | None = None) -> RemoteRun:
        """Run `argv` until it ends or until `deadline` (a `monotonic()` time); return what it did.

        Raises SSHError only when the command cannot be started (the connection is gone).
        """
        started = self._monotonic()
        channel = self._open_channel()
        try:
            channel.exec_command(remote_command(argv, environment))
            channel.shutdown_write()  # the program reads end-of-file on stdin
            return self._drain(channel, started, deadline, output_cap)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SSHUnavailable(f"{self.target.name}: running {argv[0]!r} failed: {exc}") from None
        finally:
            channel.close()

    def put_file(self, local: Path, remote: str, mode: int = 0o644) -> None:
        """Copy `local` to `remote` over SFTP with `mode`: written beside it, then renamed into place."""
        partial = f"{remote}.fernwart-partial"
        try:
            with self.open_sftp() as sftp:
                sftp.put(str(local), partial)
                sftp.chmod(partial, stat.S_IMODE(mode))
                sftp.posix_rename(partial, remote)
        except TimeoutError:
            raise SSHTimeout(self.target.name, f"copying {local.name}", self.timeouts.channel) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SSHUnavailable(f"{self.target.name}: copying {local} to {remote} failed: {exc}") from None

    def open_sftp(self) -> paramiko.SFTPClient:
        """Return an SFTP session whose every operation times out after `timeouts.channel`."""
        try:
            sftp = self._client.open_sftp()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SSHUnavailable(f"{self.target.name}: SFTP not available: {exc}") from None
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(self.timeouts.channel)
        return sftp

    def _open_channel(self) -> paramiko.Channel:
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise SSHUnavailable(f"{self.target.name}: the connection is closed")
        try:
            return transport.open_session(timeout=self.timeouts.channel)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SSHUnavailable(f"{self.target.name}: cannot open a channel: {exc}") from None

    def _drain(self, channel: paramiko.Channel, started: float, deadline: float, cap: int) -> RemoteRun:
        head = bytearray()  # stdout until the wrapper's pgid line
        pgid: int | None = None
        out, err = bytearray(), bytearray()
        seen = 0
        timed_out = False

        def keep(into: bytearray, data: bytes) -> None:
            nonlocal seen
            seen += len(data)
            room = cap - len(out) - len(err)
            if room > 0:
                into.extend(data[:room])

        while True:
            left = deadline - self._monotonic()
            if left <= 0:
                timed_out = True
                break
            select.select([channel], [], [], min(left, 0.5))
            got = False
            while channel.recv_ready():
                got = True
                data = channel.recv(READ_CHUNK)
                if pgid is None:
                    head.extend(data)
                    pgid, rest = _split_pgid(head)
                    if pgid is not None:
                        keep(out, rest)
                else:
                    keep(out, data)
            while channel.recv_stderr_ready():
                got = True
                keep(err, channel.recv_stderr(READ_CHUNK))
            if channel.exit_status_ready() and channel.eof_received and not got:
                break
            if not got and channel.eof_received:  # output closed, exit status not here yet
                channel.status_event.wait(min(max(left, 0), 0.2))
        if timed_out:
            self._kill_group(pgid)
        elif pgid is None:
            keep(out, bytes(head))  # the wrapper never ran (no setsid?): show what the server said
        status = None if timed_out else channel.recv_exit_status()
        return RemoteRun(status if status != -1 else None, bytes(out), bytes(err),
                         self._monotonic() - started, seen > cap, timed_out)

    def _kill_group(self, pgid: int | None) -> None:
        if pgid is None:
            return  # not started yet; closing the channel ends the wrapper
        try:
            channel = self._open_channel()
            try:
                channel.exec_command(" ".join(shlex.quote(w) for w in ["kill", "-KILL", "--", f"-{pgid}"]))
                channel.status_event.wait(KILL_WAIT)
            finally:
                channel.close()
        except (SSHError, paramiko.SSHException, OSError, EOFError):
            pass  # the connection is gone; sshd hangs up on the group when the session closes


def _split_pgid(head: bytearray) -> tuple[int | None, bytes]:
    """Return the pgid from the wrapper's line in `head` and the bytes after it, or (None, b"")."""
    at = head.find(PGID_MARK)
    if at < 0:
        return None, b""
    end = head.find(b"\n", at)
    if end < 0:
        return None, b""
    try:
        pgid = int(head[at + len(PGID_MARK):end])
    except ValueError:
        return None, b""
    return pgid, bytes(head[end + 1:])


def connect(target: SSHTarget, known_hosts: KnownHosts, credentials: Credentials,
            timeouts: Timeouts = Timeouts(), *,
            monotonic: Callable[[], float] = time.monotonic) -> SSHConnection:
    """Connect and authenticate; raise UnknownHostKey, HostKeyChanged, AuthFailed, SSHTimeout,
    ConnectionRefused or SSHUnavailable, each naming the server."""
    if credentials.key_file is None and not credentials.use_agent:
        raise AuthFailed(target.name, target.user, "no key file and no SSH agent configured")
    client = paramiko.SSHClient()
    if known_hosts.path.exists():
        client.load_host_keys(str(known_hosts.path))
    client.set_missing_host_key_policy(_RejectRecording())
    try:
        client.connect(
            target.address, target.port, username=target.user,
            key_filename=str(credentials.key_file) if credentials.key_file else None,
            allow_agent=credentials.use_agent, look_for_keys=False, timeout=timeouts.connect,
            banner_timeout=timeouts.banner, auth_timeout=timeouts.auth, channel_timeout=timeouts.channel,
        )
    except BaseException as exc:
        client.close()
        raise _sorted(exc, target, timeouts) from None
    return SSHConnection(client, target, timeouts, monotonic)


def _sorted(exc: BaseException, target: SSHTarget, timeouts: Timeouts) -> BaseException:
    """Return the SSHError that says what went wrong in `connect` (other exceptions pass unchanged)."""
    name = target.name
    if isinstance(exc, SSHError):
        return exc
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyChanged(name, exc.key.get_name(), fingerprint(exc.expected_key), fingerprint(exc.key))
    if isinstance(exc, paramiko.AuthenticationException):
        return AuthFailed(name, target.user, str(exc) if "timeout" not in str(exc).lower() else "")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return ConnectionRefused(name, target.port)
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionRefused(name, target.port)
    if isinstance(exc, socket.timeout | TimeoutError):
        return SSHTimeout(name, "connect", timeouts.connect)
    if isinstance(exc, paramiko.SSHException):
        text = str(exc)
        if "banner" in text.lower():
            return SSHTimeout(name, "waiting for the SSH banner", timeouts.banner)
        if "authentication timeout" in text.lower():
            return SSHTimeout(name, "authentication", timeouts.auth)
        if "no authentication methods" in text.lower() or "no existing session" in text.lower():
            return AuthFailed(name, target.user, text)
        return SSHUnavailable(f"{name}: {text}")
    if isinstance(exc, OSError | EOFError):
        return SSHUnavailable(f"{name}: {getattr(exc, 'strerror', None) or exc}")
    return exc
