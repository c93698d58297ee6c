"""A real OpenSSH server for tests: `/usr/sbin/sshd -D -e -f cfg` on a free loopback port, run as the
current user, with its own generated host key, its own config (no PAM, no passwords) and an
authorized_keys file of its own. `replace_host_key()` restarts it with a new key (a "reinstalled host").
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port, require_executable

SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/sftp-server", "/usr/lib/ssh/sftp-server")


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """Make a key pair without passphrase at `path` (and `path`.pub); return `path`."""
    keygen_bin = require_executable("ssh-keygen", "install openssh-client (scripts/install-system-deps)")
    subprocess.run([keygen_bin, "-q", "-t", kind, "-N", "", "-C", "fernwart-test", "-f", str(path)],
                   check=True, capture_output=True)
    return path


@dataclass
class SSHServer:
    """One sshd; `client_key` is a private key file whose public half is authorized."""

    directory: Path
    port: int = field(default_factory=free_port)
    user: str = field(default_factory=getpass.getuser)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.sshd = require_executable("sshd", "install openssh-server (scripts/install-system-deps)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.host_key = keygen(self.directory / "host_ed25519")
        self.client_key = keygen(self.directory / "client_ed25519")
        self.authorized = self.directory / "authorized_keys"
        self.authorized.write_text((self.directory / "client_ed25519.pub").read_text())
        self.authorized.chmod(0o600)
        sftp = next((p for p in SFTP_SERVERS if Path(p).exists()), "internal-sftp")
        self.config = self.directory / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"PidFile {self.directory / 'sshd.pid'}\nAuthorizedKeysFile {self.authorized}\n"
            "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nStrictModes no\nPermitRootLogin prohibit-password\n"
            f"AllowUsers {self.user}\nSubsystem sftp {sftp}\nLogLevel ERROR\nMaxStartups 50\n"
            "PrintMotd no\nAcceptEnv none\n"
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory

    def start(self) -> SSHServer:
        log = (self.directory / "sshd.log").open("ab")
        self.process = subprocess.Popen([self.sshd, "-D", "-e", "-f", str(self.config)], stdout=log,
                                        stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.directory / 'sshd.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    if sock.recv(64).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not answer within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def replace_host_key(self) -> None:
        """Restart with a newly generated host key, as a reinstalled host would come back."""
        self.stop()
        for path in (self.host_key, self.host_key.with_suffix(".pub")):
            path.unlink()
        keygen(self.host_key)
        self.start()

    def host_fingerprint(self) -> str:
        """Return the SHA256 fingerprint of the host key as ssh-keygen prints it."""
        keygen_bin = require_executable("ssh-keygen")
        shown = subprocess.run([keygen_bin, "-l", "-E", "sha256", "-f", f"{self.host_key}.pub"],
                               check=True, capture_output=True, text=True).stdout
        return shown.split()[1]
