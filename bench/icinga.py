"""Start Debian's icinga2 for the ingest benchmark: N hosts x 20 passive services, the REST API on a port.

Everything lives in a temporary directory (config, self-signed certificate, state, logs); the daemon runs
in the foreground as the calling user and is stopped by the caller. No IDO or Icinga DB feature is enabled:
Icinga keeps check results in memory (and its state file), so its figure is the cost of the state
machine and the API alone, not of stored history.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path


def _config(port: int, password: str, hosts: list[str], checks: int, certs: Path) -> str:
    names = json.dumps([f"check-{j:02d}" for j in range(checks)])
    lines = [
        "include <itl>",
        'object ApiListener "api" {',
        f'  cert_path = "{certs}/bench.crt"',
        f'  key_path = "{certs}/bench.key"',
        f'  ca_path = "{certs}/bench.crt"',
        '  bind_host = "127.0.0.1"',
        f"  bind_port = {port}",
        "  accept_config = false",
        "  accept_commands = false",
        "}",
        'object ApiUser "bench" {',
        f'  password = "{password}"',
        '  permissions = [ "actions/process-check-result" ]',
        "}",
        'object Endpoint "bench" { }',
        'object Zone "bench" { endpoints = [ "bench" ] }',
        'template Host "bench-host" { check_command = "dummy"; enable_active_checks = false }',
        f"for (h in {json.dumps(hosts)}) {{",
        '  object Host h use (h) { import "bench-host" }',
        "}",
        f"for (c in {names}) {{",
        '  apply Service c use (c) {',
        '    check_command = "dummy"',
        "    enable_active_checks = false",
        "    max_check_attempts = 1",
        '    assign where match("bench-*", host.name)',
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def start_icinga(
    binary: str, port: int, password: str, hosts: list[str], checks: int, timeout: float = 300
) -> tuple[subprocess.Popen[bytes], Path]:
    """Write a config for `hosts`, start icinga2 on `port`, wait until its API answers; return it."""
    home = Path(tempfile.mkdtemp(prefix="fernwart-bench-icinga-"))
    dirs = {name: home / name for name in ("data", "log", "cache", "spool", "run", "certs")}
    for d in dirs.values():
        d.mkdir()
    subprocess.run(  # icinga2's own `pki new-cert` writes as the nagios user; openssl writes as us
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bench", "-days", "2",
         "-keyout", str(dirs["certs"] / "bench.key"), "-out", str(dirs["certs"] / "bench.crt")],
        check=True, capture_output=True,
    )
    (home / "icinga2.conf").write_text(_config(port, password, hosts, checks, dirs["certs"]))
    user = pwd.getpwuid(os.getuid()).pw_name
    defines = {
        "Configuration.DataDir": dirs["data"], "Configuration.LogDir": dirs["log"],
        "Configuration.CacheDir": dirs["cache"], "Configuration.SpoolDir": dirs["spool"],
        "Configuration.InitRunDir": dirs["run"], "Configuration.RunAsUser": user,
        "Configuration.RunAsGroup": user, "NodeName": "bench", "ZoneName": "bench",
    }
    argv = [binary, "daemon", "-c", str(home / "icinga2.conf"), "-x", "warning"]
    argv += [f"-D{k}={v}" for k, v in defines.items()]
    daemon = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            shutil.rmtree(home, ignore_errors=True)
            raise SystemExit(f"icinga2 exited with {daemon.returncode} (config in {home})")
        if _answers(port):
            return daemon, home
        time.sleep(0.5)
    daemon.terminate()
    raise SystemExit(f"icinga2's API did not answer within {timeout:.0f} s")


def _answers(port: int) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as raw, context.wrap_socket(raw) as tls:
            tls.sendall(b"GET /v1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return tls.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False
