"""Real collector and agent processes for end-to-end tests, started through their console scripts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

from tests.support import free_port

BIN = Path(sys.executable).parent
PLUGIN = Path(__file__).with_name("file_plugin.py")
T = TypeVar("T")
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY",
                   "no_proxy", "NO_PROXY")


def agent_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment without proxy variables, plus `extra` (e.g. HTTPS_PROXY)."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    return {**env, **(extra or {})}


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0, every: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (requests.ConnectionError, requests.Timeout) as exc:
            value, last = None, exc
        else:
            last = value
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


class Collector:
    """A `fernwart-collector serve` process on a free loopback port with its own FERNWART_HOME.

    With `tls` (cert, key) it serves HTTPS; `ca` is the bundle the test trusts to see it answer (None: the
    readiness probe only waits for the port). Both may be changed between stop() and start(); the port stays.
    """

    def __init__(self, home: Path, database_url: str | None = None, job_interval: float = 1.0,
                 tls: tuple[Path, Path] | None = None, ca: Path | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.tls = tls
        self.ca = ca
        self.env = {**os.environ, "FERNWART_HOME": str(home), "FERNWART_JOB_INTERVAL": str(job_interval)}
        if database_url:
            self.env["FERNWART_DATABASE_URL"] = database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.migrated = False
        self.log = home / "collector.log"
        home.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run `fernwart-collector ARGS`; return the last line of stdout (the token, for user/token).

        The first call migrates first, as an operator does (other commands do not create a database).
        """
        if not self.migrated and args[:1] != ("migrate",):
            self.migrated = True
            self.cli("migrate")
        done = subprocess.run(
            [str(BIN / "fernwart-collector"), *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def start(self) -> None:
        tls = ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])] if self.tls else []
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "fernwart-collector"), "serve", "--port", str(self.port), *tls],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self.tls and self.ca is None:  # a certificate the test cannot verify: wait for the port only
            wait_for("collector port", self._listening)
            return
        verify: bool | str = str(self.ca) if self.ca else True
        wait_for("collector /healthz",
                 lambda: requests.get(f"{self.url}/healthz", timeout=2, verify=verify).ok)

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Agent:
    """A `fernwart-agent run` process with a config enrolled against `collector`."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.config = directory / "agent.yaml"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = directory / "agent.log"
        directory.mkdir(parents=True, exist_ok=True)

    def enroll(self, collector_url: str, token: str, hostname: str) -> None:
        done = self.try_enroll(collector_url, token, hostname)
        assert done.returncode == 0, done.stderr
        assert (self.config.parent / "agent.token").stat().st_mode & 0o777 == 0o600

    def try_enroll(
        self, collector_url: str, token: str, hostname: str, *extra: str,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `fernwart-agent enroll` with `extra` arguments in `env` (default: without proxy variables)."""
        return subprocess.run(
            [
                str(BIN / "fernwart-agent"),
                "enroll",
                "--collector",
                collector_url,
                "--token",
                token,
                "--config",
                str(self.config),
                "--hostname",
                hostname,
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=agent_env() if env is None else dict(env),
        )

    def set_checks(self, checks: list[dict[str, Any]], heartbeat_interval: int = 5) -> None:
        config = yaml.safe_load(self.config.read_text())
        config["checks"] = checks
        config["heartbeat_interval"] = heartbeat_interval
        self.config.write_text(yaml.safe_dump(config))

    @property
    def host_id(self) -> str:
        return str(yaml.safe_load(self.config.read_text())["host_id"])

    def start(self, env: Mapping[str, str] | None = None) -> None:
        """Start `fernwart-agent run` in `env` (default: this environment without proxy variables)."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "fernwart-agent"), "run", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=agent_env() if env is None else dict(env),
            )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def plugin_check(
    state_file: Path, name: str = "app", interval: int = 1, max_attempts: int = 2
) -> dict[str, Any]:
    """Return an agent check entry running the file-controlled test plugin."""
    return {
        "name": name,
        "type": "plugin",
        "interval": interval,
        "max_attempts": max_attempts,
        "command": [sys.executable, str(PLUGIN), str(state_file)],
    }


class Api:
    """A technician's view of the collector API."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(f"{self.url}{path}", params=params, headers=self.headers, timeout=5)
        r.raise_for_status()
        return r.json()
