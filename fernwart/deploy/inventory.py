"""Which hosts `fernwart deploy` installs onto: host arguments and an inventory file.

A host is written ``[USER@]ADDRESS[:PORT]`` (``[::1]:2222`` for IPv6). An inventory file has one host a
line, then optional ``key=value`` settings; ``#`` starts a comment::

    # customer Muster GmbH, rack 2
    web01.muster.example
    db01.muster.example port=2222 user=admin
    10.0.4.7 name=backup01          # enroll under this name instead of the machine's own hostname

Keys: ``port`` (1-65535), ``user`` (overrides --ssh-user), ``name`` (the host's name at the collector;
default: the target's own hostname) and ``prefix`` (an absolute path, overrides --prefix for this
host). A host given twice is refused: two runs on one machine would race.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_PORT = 22
INVENTORY_KEYS = ("port", "user", "name", "prefix")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")  # a hostname, as the collector stores it
_PATH = re.compile(r"^/[A-Za-z0-9._/+-]{0,1000}$")
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,31}$")
MAX_HOSTS = 10_000


class InventoryError(ValueError):
    """A host argument or inventory line that cannot be used; the message names the line and the fault."""


@dataclass(frozen=True)
class Target:
    """One host to deploy to: where to connect, as whom, and the name to enroll it under (None: its own)."""

    address: str
    port: int = DEFAULT_PORT
    user: str | None = None
    name: str | None = None
    prefix: str | None = None

    @property
    def label(self) -> str:
        """Return how the host is shown in progress and summary: its name, else address[:port]."""
        if self.name:
            return self.name
        host = f"[{self.address}]" if ":" in self.address else self.address
        return host if self.port == DEFAULT_PORT else f"{host}:{self.port}"


def parse_host(spec: str, where: str = "host") -> Target:
    """Return the Target of ``[USER@]ADDRESS[:PORT]``; raise InventoryError naming `where` otherwise."""
    user, at, rest = spec.strip().rpartition("@")
    if at and not _USER.match(user):
        raise InventoryError(f"{where}: {user!r} is not a user name")
    port_text = ""
    if rest.startswith("["):
        address, bracket, tail = rest[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise InventoryError(f"{where}: {spec!r}: expected [IPV6]:PORT")
        port_text = tail[1:]
    elif rest.count(":") == 1:
        address, _, port_text = rest.partition(":")
    else:
        address = rest  # a bare IPv6 address or a plain name
    if not address or not re.fullmatch(r"[A-Za-z0-9._:%-]{1,253}", address) or address.startswith("-"):
        raise InventoryError(f"{where}: {spec!r} is not a host address")
    return Target(address, _port(port_text, where) if port_text else DEFAULT_PORT, user or None)


def _port(text: str, where: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InventoryError(f"{where}: port {text!r} must be a number from 1 to 65535")
    return int(text)


def parse_inventory(text: str, source: str) -> list[Target]:
    """Return the targets of an inventory file's `text`; raise InventoryError naming `source:line`."""
    targets: list[Target] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{source}:{number}"
        target = parse_host(fields[0], where)
        settings: dict[str, str] = {}
        for item in fields[1:]:
            key, eq, value = item.partition("=")
            if not eq or key not in INVENTORY_KEYS:
                raise InventoryError(f"{where}: {item!r}: expected one of "
                                     f"{', '.join(k + '=' for k in INVENTORY_KEYS)}")
            if key in settings:
                raise InventoryError(f"{where}: {key}= given twice")
            settings[key] = value
        if "port" in settings:
            target = dataclasses.replace(target, port=_port(settings["port"], where))
        if "user" in settings:
            if not _USER.match(settings["user"]):
                raise InventoryError(f"{where}: {settings['user']!r} is not a user name")
            target = dataclasses.replace(target, user=settings["user"])
        if "name" in settings:
            if not _NAME.match(settings["name"]):
                raise InventoryError(f"{where}: name {settings['name']!r} is not a host name")
            target = dataclasses.replace(target, name=settings["name"])
        if "prefix" in settings:
            prefix = settings["prefix"]
            if not prefix.startswith("/") or not _PATH.match(prefix) or "/../" in prefix + "/":
                raise InventoryError(f"{where}: prefix {prefix!r} must be an absolute path")
            target = dataclasses.replace(target, prefix=prefix.rstrip("/") or "/")
        targets.append(target)
    return targets


def combine(groups: Iterable[list[Target]]) -> list[Target]:
    """Return all targets in order; raise InventoryError for none, too many, or one machine twice."""
    seen: dict[tuple[str, int], Target] = {}
    names: set[str] = set()
    out: list[Target] = []
    for group in groups:
        for target in group:
            key = (target.address.lower(), target.port)
            if key in seen:
                raise InventoryError(f"host {target.label} is given twice")
            if target.name is not None:
                if target.name.lower() in names:
                    raise InventoryError(f"name {target.name} is given to two hosts")
                names.add(target.name.lower())
            seen[key] = target
            out.append(target)
    if not out:
        raise InventoryError("no hosts: give HOST arguments or --inventory FILE")
    if len(out) > MAX_HOSTS:
        raise InventoryError(f"{len(out)} hosts; at most {MAX_HOSTS} in one run")
    return out
