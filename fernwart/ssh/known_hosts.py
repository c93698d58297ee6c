"""The managed known_hosts file: the only host keys the SSH runner trusts.

The file is the collector's own (not ~/.ssh/known_hosts), in OpenSSH's format, mode 0600, rewritten
whole through a temporary file and a rename, so a crash never leaves half a file. Entries are named as
OpenSSH names them: ``address`` for port 22, ``[address]:port`` otherwise. Keys are only added by an
explicit, confirmed `trust` (or from fingerprints an agent reported): nothing is learned on first use.
"""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import paramiko

from fernwart.ssh.errors import ConnectionRefused, SSHTimeout, SSHUnavailable
from fernwart.ssh.fingerprints import fingerprint


def host_key_name(address: str, port: int) -> str:
    """Return the known_hosts name of a server: ``address`` on port 22, else ``[address]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


@dataclass(frozen=True)
class TrustedKey:
    """One recorded host key: the known_hosts name, key type and SHA256 fingerprint."""

    name: str
    key_type: str
    fingerprint: str


class KnownHosts:
    """Read and change the managed known_hosts file at `path` (created on the first `add`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> paramiko.HostKeys:
        """Return the file's keys (none when the file does not exist yet)."""
        keys = paramiko.HostKeys()
        if self.path.exists():
            keys.load(str(self.path))
        return keys

    def lookup(self, address: str, port: int) -> list[TrustedKey]:
        """Return the keys recorded for the server, one per key type."""
        name = host_key_name(address, port)
        found = self.load().lookup(name)
        if found is None:
            return []
        return [TrustedKey(name, kind, fingerprint(key)) for kind, key in found.items()]

    def entries(self) -> list[TrustedKey]:
        """Return every recorded key, in file order."""
        keys = self.load()
        return [TrustedKey(name, kind, fingerprint(key)) for name in keys for kind, key in keys[name].items()]

    def add(self, address: str, port: int, key: paramiko.PKey) -> TrustedKey:
        """Record `key` for the server, replacing a key of the same type; return what was recorded."""
        keys = self.load()
        name = host_key_name(address, port)
        keys.add(name, key.get_name(), key)
        self._save(keys)
        return TrustedKey(name, key.get_name(), fingerprint(key))

    def forget(self, address: str, port: int | None = None) -> list[TrustedKey]:
        """Remove the server's keys (on `port`, or on every port when None); return what was removed."""
        keys = self.load()
        names = {host_key_name(address, port)} if port is not None else None
        kept = paramiko.HostKeys()
        removed: list[TrustedKey] = []
        for name in keys:
            ours = name in names if names is not None else name == address or name.startswith(f"[{address}]:")
            for kind, key in keys[name].items():
                if ours:
                    removed.append(TrustedKey(name, kind, fingerprint(key)))
                else:
                    kept.add(name, kind, key)
        if removed:
            self._save(kept)
        return removed

    def _save(self, keys: paramiko.HostKeys) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".known_hosts.")
        try:
            os.fchmod(handle, 0o600)
            os.close(handle)
            keys.save(temporary)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def scan_host_key(address: str, port: int, timeout: float = 10.0) -> paramiko.PKey:
    """Return the host key the server at `address:port` offers, without authenticating.

    Raises ConnectionRefused, SSHTimeout or SSHUnavailable. The key is only shown to be checked: it
    is trusted when a person confirms its fingerprint (`KnownHosts.add`).
    """
    where = host_key_name(address, port)
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except ConnectionRefusedError:
        raise ConnectionRefused(where, port) from None
    except TimeoutError:
        raise SSHTimeout(where, "connect", timeout) from None
    except OSError as exc:
        raise SSHUnavailable(f"{where}: {exc.strerror or exc}") from None
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except paramiko.SSHException as exc:
        if "banner" in str(exc).lower() or "timeout" in str(exc).lower():
            raise SSHTimeout(where, "key exchange", timeout) from None
        raise SSHUnavailable(f"{where}: {exc}") from None
    except (OSError, EOFError) as exc:
        raise SSHUnavailable(f"{where}: {exc}") from None
    finally:
        transport.close()
