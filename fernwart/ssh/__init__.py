"""The one SSH runner (paramiko) for every part that reaches hosts over SSH: the collector's diagnostics
over SSH and the deploy command. Connect with timeouts, trust only the managed known_hosts, run argv
lists with a deadline and an output cap, copy files over SFTP; every failure is an `SSHError` kind.

    from fernwart.ssh import Credentials, KnownHosts, SSHTarget, connect
"""

from fernwart.ssh.errors import (
    AuthFailed,
    ConnectionRefused,
    HostKeyChanged,
    SSHError,
    SSHTimeout,
    SSHUnavailable,
    UnknownHostKey,
)
from fernwart.ssh.files import read_bounded, remote_glob, remote_realpath
from fernwart.ssh.fingerprints import fingerprint, fingerprint_of_blob
from fernwart.ssh.known_hosts import KnownHosts, TrustedKey, host_key_name, scan_host_key
from fernwart.ssh.runner import (
    Credentials,
    RemoteRun,
    SSHConnection,
    SSHTarget,
    Timeouts,
    connect,
    remote_command,
)

__all__ = [
    "AuthFailed", "ConnectionRefused", "Credentials", "HostKeyChanged", "KnownHosts", "RemoteRun",
    "SSHConnection", "SSHError", "SSHTarget", "SSHTimeout", "SSHUnavailable", "Timeouts", "TrustedKey",
    "UnknownHostKey", "connect", "fingerprint", "fingerprint_of_blob", "host_key_name", "read_bounded",
    "remote_command", "remote_glob", "remote_realpath", "scan_host_key",
]
