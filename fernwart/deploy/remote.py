"""The deploy's side of the SSH runner: connect to a target and say every failure as the technician's fix.

Host keys are checked against the technician's own known_hosts (default
``~/.config/fernwart/known_hosts``, not ~/.ssh's), with the runner's RejectPolicy: an unknown key stops
the host and prints its fingerprint with the `fernwart known-hosts trust` command to record it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from fernwart.deploy.host import HostFailure, Ran
from fernwart.deploy.inventory import Target
from fernwart.ssh import (
    AuthFailed,
    Credentials,
    HostKeyChanged,
    KnownHosts,
    SSHConnection,
    SSHError,
    SSHTarget,
    UnknownHostKey,
    connect,
    host_key_name,
)

DEFAULT_KNOWN_HOSTS = Path("~/.config/fernwart/known_hosts")
OUTPUT_CAP = 1 << 20  # a step's output kept for its error message; pip and the agent say little


def trust_command(target: Target, fingerprint: str, known_hosts: Path) -> str:
    """Return the command that records `fingerprint` for `target` once a person checked it."""
    where = host_key_name(target.address, target.port)
    extra = "" if known_hosts == DEFAULT_KNOWN_HOSTS.expanduser() else f" --known-hosts {known_hosts}"
    return f"fernwart known-hosts trust {where} --fingerprint {fingerprint}{extra}"


class SSHRemote:
    """A `host.Remote` over one SSHConnection."""

    def __init__(self, connection: SSHConnection) -> None:
        self.connection = connection

    def run(self, argv: Sequence[str], timeout: float) -> Ran:
        try:
            done = self.connection.run(argv, time.monotonic() + timeout, OUTPUT_CAP)
        except SSHError as exc:
            raise HostFailure(f"the SSH connection broke: {exc}") from None
        if done.timed_out:
            raise HostFailure(f"{argv[0]} {argv[1] if len(argv) > 1 else ''}: still running after "
                              f"{timeout:g}s, killed")
        return Ran(-1 if done.exit_status is None else done.exit_status,
                   done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))

    def put_file(self, local: Path, remote: str, mode: int) -> None:
        try:
            self.connection.put_file(local, remote, mode)
        except SSHError as exc:
            raise HostFailure(f"copying {local.name}: {exc}") from None

    def close(self) -> None:
        self.connection.close()


class Connector:
    """Connects to targets as `user` with `key`, trusting only the keys in `known_hosts`."""

    def __init__(self, user: str, key: Path | None, known_hosts: Path, use_agent: bool = False) -> None:
        self.user = user
        self.credentials = Credentials(key_file=key, use_agent=use_agent)
        self.known_hosts_path = known_hosts
        self.known_hosts = KnownHosts(known_hosts)

    def __call__(self, target: Target) -> SSHRemote:
        ssh = SSHTarget(target.address, target.port, target.user or self.user)
        try:
            return SSHRemote(connect(ssh, self.known_hosts, self.credentials))
        except UnknownHostKey as exc:
            raise HostFailure(
                f"host key not trusted yet: {exc.key_type} {exc.fingerprint}; stopped before logging in. "
                "Check the fingerprint with the host's owner (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), "
                f"then run: {trust_command(target, exc.fingerprint, self.known_hosts_path)}") from None
        except HostKeyChanged as exc:
            raise HostFailure(
                f"HOST KEY MISMATCH, refused: {self.known_hosts_path} has {exc.key_type} {exc.old}, the "
                f"server offered {exc.new}. A reinstalled host or someone in between: verify the new key "
                f"out of band, then `fernwart known-hosts forget {exc.host}` and trust it again") from None
        except AuthFailed as exc:
            key = self.credentials.key_file or "the SSH agent's keys"
            raise HostFailure(f"SSH authentication as {exc.user} with {key} failed: is its public key in "
                              f"{exc.user}'s authorized_keys on the target?") from None
        except SSHError as exc:
            raise HostFailure(f"cannot connect over SSH: {exc}") from None
