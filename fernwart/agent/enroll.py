"""Enrollment: register this host with a collector and write the agent's token and config.

`POST /api/v1/enroll` with a one-time enrollment token (docs/protocol.md) answers with the host's id and
its own agent token. The token goes to ``agent.token`` beside the config, created with mode 0600 from the
first byte (never chmod-ed afterwards) and swapped in atomically; then the config is written with the
collector URL, the host id and a default set of checks for a Linux host. An existing config is only
replaced with `force`, and that refusal happens before the enrollment token is spent.

A CA bundle given with `ca_file` is checked before anything is sent, used for the enrollment request and
pinned: copied beside the config as ``collector-ca.pem``, which the config's `ca_file:` then names, so the
agent trusts that CA from then on even when the original file goes away. A `proxy` URL is used for the
request and written to the config; when it carries credentials the config is written 0600, like the token.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import ssl
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fernwart.agent import __version__
from fernwart.agent.config import ConfigError, parse_config
from fernwart.agent.hostfacts import gather
from fernwart.agent.instance import current_or_new, store
from fernwart.agent.proxy import ProxySettings, parse_proxy_url
from fernwart.agent.transport import CollectorLink

ENROLL_PATH = "/api/v1/enroll"
TOKEN_FILE = "agent.token"
CA_FILE = "collector-ca.pem"
CA_LIMIT = 1024 * 1024  # bytes; a CA bundle is a few kilobytes (the system's whole store is ~200 KB)
STATE_DIR = "state"  # the config enroll writes names none, so the agent's default applies: state/ beside it
log = logging.getLogger(__name__)


class EnrollError(Exception):
    """Raised when enrollment cannot go ahead or the collector's answer is unusable."""


@dataclass(frozen=True)
class EnrolledHost:
    """What enrollment produced: the host id and where the token and config were written."""

    host_id: str
    config_path: Path
    token_path: Path
    checks: tuple[str, ...]


def default_checks(listening_ports: set[int]) -> list[dict[str, Any]]:
    """Return the default checks for a Linux host; an ssh port check only when something listens on 22."""
    checks: list[dict[str, Any]] = [
        {"name": "cpu", "type": "cpu", "interval": 60},
        {"name": "memory", "type": "memory", "interval": 60},
        {"name": "disk", "type": "disk", "interval": 300},
        {"name": "load", "type": "load", "interval": 60},
    ]
    if 22 in listening_ports:
        checks.append({"name": "ssh", "type": "tcp", "interval": 60, "host": "127.0.0.1", "port": 22})
    return checks


def local_listening_ports() -> set[int]:
    """Return the TCP ports this host listens on; an empty set when the OS will not tell us."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return set()
    return {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN and c.laddr}


def os_description() -> str:
    """Return e.g. ``Linux 6.1.0-18-amd64 x86_64`` for the enrollment request."""
    return f"{platform.system()} {platform.release()} {platform.machine()}"


def enroll(
    collector: str, enrollment_token: str, config_path: Path | str, *,
    hostname: str | None = None, force: bool = False, replace: bool = False,
    ca_file: Path | str | None = None, proxy: str | None = None, env: Mapping[str, str] | None = None,
    transport: CollectorLink | None = None, listening_ports: Callable[[], set[int]] = local_listening_ports,
    host_facts: Callable[[], dict[str, Any]] = gather,
) -> EnrolledHost:
    """Enroll this host and write its token file (0600) and config; return what was written.

    `replace` asks to take over a host of that name that is already enrolled (the collector also wants a
    token a technician created for that host). Raises EnrollError when the config exists and `force` is
    False, the CA bundle is unusable or the proxy URL is bad (all before contacting the collector) or when
    the answer lacks host_id/agent_token; CollectorError subclasses for refusals and outages (an
    unverifiable certificate or a refusing proxy included). `env` (default os.environ) supplies
    HTTPS_PROXY/NO_PROXY when `proxy` is None.
    Default checks whose type is not available in this build are left out with a warning.
    The agent
    instance id (`fernwart.agent.instance`) is made in the state directory beside the config, if there is
    none yet, and sent along, so the collector binds the host to this instance.
    """
    config_path = Path(config_path)
    if config_path.exists() and not force:
        raise EnrollError(f"{config_path} exists; pass --force to replace it")
    ca_bundle = read_ca_bundle(Path(ca_file)) if ca_file is not None else None
    try:
        proxies = ProxySettings.resolve(proxy, None, os.environ if env is None else env)
    except ValueError as exc:
        raise EnrollError(f"--proxy {exc}" if proxy is not None else str(exc)) from None
    own = transport is None
    state_dir = config_path.parent / STATE_DIR
    instance, fresh = current_or_new(state_dir)  # written only once enrolled: a refusal leaves nothing
    client = transport if transport is not None else CollectorLink(collector, ca_file=ca_file,
                                                                   proxies=proxies, instance_id=instance)
    try:
        answer = client.post_json(ENROLL_PATH, {
            "token": enrollment_token,
            "hostname": hostname or socket.gethostname(),
            "os": os_description(),
            "agent_version": __version__,
            "facts": host_facts(),
            **({"replace": True} if replace else {}),
        })
    finally:
        if own:
            client.close()
    host_id, agent_token = answer.get("host_id"), answer.get("agent_token")
    if not isinstance(host_id, str) or not host_id or not isinstance(agent_token, str) or not agent_token:
        raise EnrollError(f"collector answered without host_id/agent_token: {answer!r}")
    heartbeat = answer.get("heartbeat_interval", 60)
    settings: dict[str, Any] = {
        "collector": collector.rstrip("/"),
        "host_id": host_id,
        "token_file": TOKEN_FILE,
        "heartbeat_interval": heartbeat if isinstance(heartbeat, int) and heartbeat >= 1 else 60,
    }
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if ca_bundle is not None:
        _write_atomic(config_path.parent / CA_FILE, ca_bundle, 0o644)
        settings["ca_file"] = CA_FILE
    if proxy is not None:
        settings["proxy"] = proxy.strip()
    secret_proxy = proxy is not None and parse_proxy_url(proxy).username is not None
    settings["checks"] = _usable_checks(settings, default_checks(listening_ports()), config_path)
    token_path = config_path.parent / TOKEN_FILE
    if fresh:
        store(state_dir, instance)
    write_private(token_path, agent_token + "\n")
    _write_atomic(config_path, render_config(settings), 0o600 if secret_proxy else 0o644)
    return EnrolledHost(host_id, config_path, token_path, tuple(c["name"] for c in settings["checks"]))


def read_ca_bundle(path: Path) -> str:
    """Return the PEM text of the CA bundle at `path`; raise EnrollError when it is unreadable or holds no CA.

    The check is OpenSSL's own: the bundle must load as trust anchors with at least one certificate.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(CA_LIMIT + 1)
    except OSError as exc:
        raise EnrollError(f"--ca {path}: cannot read the CA bundle: {exc.strerror or exc}") from None
    if len(data) > CA_LIMIT:
        raise EnrollError(f"--ca {path}: larger than {CA_LIMIT // 1024} KB; expected a PEM CA bundle")
    if not data.strip():
        raise EnrollError(f"--ca {path}: the file is empty; expected the PEM CA bundle of the collector")
    text = data.decode("ascii", errors="replace")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, ssl.SSLError) and exc.reason else exc
        raise EnrollError(f"--ca {path}: not a PEM CA bundle ({reason})") from None
    if not context.cert_store_stats()["x509"]:
        raise EnrollError(f"--ca {path}: holds no certificate; expected the PEM CA bundle of the collector")
    return text


def render_config(settings: dict[str, Any]) -> str:
    """Return the config file text for `settings`, with a header saying where it came from."""
    header = (
        "# Fernwart agent configuration, written by `fernwart-agent enroll`.\n"
        "# Each check: name, type, interval (s), optional timeout, max_attempts, warning, critical,\n"
        "# plus the type's own options (`fernwart-agent checks` lists them).\n"
    )
    return header + yaml.safe_dump(settings, sort_keys=False, default_flow_style=False)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only: created 0600, fsynced, then renamed over `path`."""
    _write_atomic(path, text, 0o600)


def _usable_checks(
    settings: dict[str, Any], checks: list[dict[str, Any]], path: Path,
) -> list[dict[str, Any]]:
    """Keep the checks that validate; a type missing from this build must not make the config unusable."""
    usable = []
    for check in checks:
        try:
            parse_config(yaml.safe_dump({**settings, "checks": [check]}), path)
        except ConfigError as exc:
            log.warning("leaving default check %r out: %s", check["name"], exc)
            continue
        usable.append(check)
    return usable


def _write_atomic(path: Path, text: str, mode: int) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates 0600
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)  # widening a config before any byte is written; tokens stay 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
