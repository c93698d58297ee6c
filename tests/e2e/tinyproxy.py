"""A real HTTP proxy for tests: Debian's tinyproxy in the foreground, with its own config, on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

from tests.e2e.processes import wait_for
from tests.support import free_port, require_executable


class Tinyproxy:
    """A `tinyproxy -d` process on a free 127.0.0.1 port; `basic_auth` (user, password) makes it demand them.

    Its log (LogLevel Connect) names every client connection, CONNECT tunnel and proxied request line;
    it never writes the credentials a client sent.
    """

    def __init__(self, directory: Path, basic_auth: tuple[str, str] | None = None) -> None:
        self.binary = require_executable("tinyproxy", "scripts/install-system-deps installs it")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = directory / "tinyproxy.log"
        self.config = directory / "tinyproxy.conf"
        lines = [
            f"Port {self.port}", "Listen 127.0.0.1", "Timeout 600", f'LogFile "{self.log}"',
            "LogLevel Connect",
            f'PidFile "{directory / "tinyproxy.pid"}"', "MaxClients 50", "Allow 127.0.0.1",
            "DisableViaHeader Yes",  # no ConnectPort line: CONNECT to any port (the collector's is random)
        ]
        if basic_auth is not None:
            lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-d", "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for("tinyproxy to listen", self._listening, timeout=30)

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"tinyproxy exited with {self.proc.returncode}: {self.text()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def text(self) -> str:
        """Return the log so far ('' before the first line)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def requests(self) -> list[str]:
        """Return the request lines it was asked to relay, e.g. ``CONNECT 127.0.0.1:8443 HTTP/1.0``."""
        marker = "]: Request (file descriptor "
        return [line.split("): ", 1)[1] for line in self.text().splitlines() if marker in line]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
