"""The SSH runner's errors: one base, one kind per decision a caller makes, each with a message to show.

A caller records or shows the message; the kinds say what to do next: trust the key (UnknownHostKey),
investigate (HostKeyChanged), fix the key setup (AuthFailed), retry later (SSHTimeout,
ConnectionRefused, SSHUnavailable).
"""

from __future__ import annotations


class SSHError(Exception):
    """Base of every error the SSH runner raises; `str()` is a complete, one-line message."""


class UnknownHostKey(SSHError):
    """The server's host key is not in the managed known_hosts file; nothing was sent to it."""

    def __init__(self, host: str, key_type: str, fingerprint: str) -> None:
        self.host, self.key_type, self.fingerprint = host, key_type, fingerprint
        super().__init__(
            f"{host}: host key not trusted ({key_type} {fingerprint}); check it and record it with "
            f"`fernwart-collector ssh trust`"
        )


class HostKeyChanged(SSHError):
    """The server offered a key other than the recorded one: a reinstalled host, or someone in between."""

    def __init__(self, host: str, key_type: str, old: str, new: str) -> None:
        self.host, self.key_type, self.old, self.new = host, key_type, old, new
        super().__init__(
            f"{host}: HOST KEY CHANGED - refused. Recorded {key_type} key {old}, the server offered {new}. "
            "This may be a reinstalled host or an attack; verify the new key out of band, then "
            "`fernwart-collector ssh forget` and `trust` it again"
        )


class AuthFailed(SSHError):
    """The server refused every key offered for the user."""

    def __init__(self, host: str, user: str, detail: str = "") -> None:
        self.host, self.user = host, user
        super().__init__(f"{host}: authentication as {user!r} failed"
                         + (f" ({detail})" if detail else "") + "; is the key in its authorized_keys?")


class SSHTimeout(SSHError):
    """A connect, banner, authentication or channel step took longer than its timeout."""

    def __init__(self, host: str, stage: str, seconds: float) -> None:
        self.host, self.stage, self.seconds = host, stage, seconds
        super().__init__(f"{host}: {stage} timed out after {seconds:g}s")


class ConnectionRefused(SSHError):
    """Nothing listens on the address and port (or a firewall rejects the connection)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        super().__init__(f"{host}: connection to port {port} refused")


class SSHUnavailable(SSHError):
    """Any other failure to reach or talk to the server (name lookup, reset, protocol error)."""
