"""Host facts: what the agent tells the collector about its host, at enrollment, at start and on change.

The facts are the agent's version, the OS (``PRETTY_NAME`` of /etc/os-release), the kernel release, the
hostname, the non-loopback interface addresses and the SSH host keys' fingerprints (SHA-256 of each
``/etc/ssh/ssh_host_*_key.pub`` key, written ``SHA256:<base64>`` as ``ssh-keygen -lf`` prints it)::

    {"agent_version": "0.1.0", "os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0-18-amd64",
     "hostname": "web01", "addresses": [{"interface": "eth0", "address": "192.0.2.10"}],
     "ssh_host_keys": [{"type": "ssh-ed25519", "fingerprint": "SHA256:..."}]}

`FactsReporter` runs before each sender round: it gathers the facts every `every` seconds and sends them
(``PUT /api/v1/agent/facts``) only when their hash differs from what was last delivered, so a steady host
costs one gathering every ten minutes and no request. Everything read is trimmed to the protocol's limits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import logging
import platform
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fernwart.agent import __version__
from fernwart.agent.transport import CollectorError, CollectorLink
from fernwart.protocol import (
    ADDRESSES_LIMIT,
    FACT_TEXT_LIMIT,
    HOST_KEYS_LIMIT,
    INTERFACE_NAME,
    SSH_KEY_TYPE,
)

FACTS_PATH = "/api/v1/agent/facts"
OS_RELEASE = Path("/etc/os-release")
SSH_DIR = Path("/etc/ssh")
KEY_FILE_LIMIT = 64 * 1024  # bytes read of a .pub file; a host key is well under 2 KiB
GATHER_EVERY = 600.0  # seconds between gatherings
RETRY_AFTER = 60.0  # seconds before sending again after a failure
log = logging.getLogger(__name__)

Addresses = Callable[[], Mapping[str, list[Any]]]


def _psutil_addresses() -> Mapping[str, list[Any]]:
    import psutil

    return psutil.net_if_addrs()


def os_name(path: Path = OS_RELEASE) -> str:
    """Return PRETTY_NAME of an os-release file (else NAME VERSION, else the system's name)."""
    fields: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:KEY_FILE_LIMIT]
    except OSError:
        text = ""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().isidentifier():
            fields[key.strip()] = value.strip().strip("\"'")
    name = fields.get("PRETTY_NAME") or " ".join(filter(None, (fields.get("NAME"), fields.get("VERSION"))))
    return _text(name or platform.system())


def addresses(if_addrs: Addresses = _psutil_addresses) -> list[dict[str, str]]:
    """Return the host's IPv4 and IPv6 interface addresses without loopback ones, sorted, at most 64."""
    found = set()
    for interface, entries in if_addrs().items():
        if INTERFACE_NAME.fullmatch(interface) is None:
            continue
        for entry in entries:
            if entry.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                address = ipaddress.ip_address(str(entry.address).split("%", 1)[0])
            except ValueError:
                continue
            if not address.is_loopback:
                found.add((interface, str(address)))
    return [{"interface": i, "address": a} for i, a in sorted(found)[:ADDRESSES_LIMIT]]


def ssh_host_keys(ssh_dir: Path = SSH_DIR) -> list[dict[str, str]]:
    """Return type and SHA256 fingerprint of each ``ssh_host_*_key.pub`` in `ssh_dir`, by type.

    An unreadable or malformed file is left out; one key per type (the first file of its name order).
    """
    keys: dict[str, str] = {}
    for path in sorted(ssh_dir.glob("ssh_host_*_key.pub")):
        try:
            with path.open("rb") as handle:
                line = handle.read(KEY_FILE_LIMIT).decode("ascii", errors="replace").split("\n", 1)[0]
        except OSError:
            continue
        parts = line.split()
        if len(parts) < 2 or SSH_KEY_TYPE.fullmatch(parts[0]) is None or parts[0] in keys:
            continue
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            continue
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        keys[parts[0]] = f"SHA256:{digest}"
    return [{"type": t, "fingerprint": f} for t, f in sorted(keys.items())[:HOST_KEYS_LIMIT]]


def gather(
    *, os_release: Path = OS_RELEASE, ssh_dir: Path = SSH_DIR, if_addrs: Addresses = _psutil_addresses,
    hostname: Callable[[], str] = socket.gethostname, kernel: Callable[[], str] = platform.release,
) -> dict[str, Any]:
    """Return this host's facts (the module docstring shows the shape), trimmed to the protocol's limits."""
    return {
        "agent_version": _text(__version__),
        "os": os_name(os_release),
        "kernel": _text(kernel()),
        "hostname": _text(hostname()),
        "addresses": addresses(if_addrs),
        "ssh_host_keys": ssh_host_keys(ssh_dir),
    }


def digest(facts: Mapping[str, Any]) -> str:
    """Return the SHA-256 of the facts in canonical JSON: equal facts, equal digest."""
    return hashlib.sha256(json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _text(value: str) -> str:
    """Return `value` without control characters, cut to FACT_TEXT_LIMIT."""
    return "".join(c for c in value if c.isprintable())[:FACT_TEXT_LIMIT]


class FactsReporter:
    """Called before each sender round: gathers the facts when due and sends them if they changed."""

    def __init__(
        self, link: CollectorLink, *, gather_facts: Callable[[], dict[str, Any]] = gather,
        clock: Callable[[], float] = time.monotonic, every: float = GATHER_EVERY,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        self.link = link
        self._gather = gather_facts
        self._clock = clock
        self.every = every
        self.retry_after = retry_after
        self.sent: str | None = None  # digest of the facts the collector last accepted
        self._due = clock()

    def __call__(self) -> None:
        """Gather and send as due; never raises (collector trouble is retried after `retry_after`)."""
        now = self._clock()
        if now < self._due:
            return
        try:
            facts = self._gather()
        except Exception:  # a broken /etc must not stop the sender
            log.exception("could not gather the host facts")
            self._due = now + self.every
            return
        found = digest(facts)
        if found == self.sent:
            self._due = now + self.every
            return
        try:
            self.link.send_json("PUT", FACTS_PATH, facts)
        except (CollectorError, ValueError) as exc:
            log.info("could not send the host facts (%s); trying again in %.0fs", exc, self.retry_after)
            self._due = now + self.retry_after
            return
        self.sent = found
        self._due = now + self.every
        log.info("sent the host facts (%d address(es), %d SSH host key(s))",
                 len(facts.get("addresses", ())), len(facts.get("ssh_host_keys", ())))
