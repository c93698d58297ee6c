"""Where the collector reaches a host over SSH: address, port, user and whether repairs may run there.

A host's SSH target is set by an administrator (`fernwart-collector ssh target`); a host without one is
reached at its name on port 22 as the collector's default user (FERNWART_SSH_USER). Over SSH there is no
agent config to allow repairs, so the target's own `allow_repairs` (default off) takes its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fernwart.collector.models import Customer, Host, HostSSHTarget
from fernwart.collector.services.errors import Invalid, NotFound
from fernwart.collector.services.hostfacts import reported_host_keys

ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}")  # a DNS name, IPv4 or IPv6 address; no options
USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


@dataclass(frozen=True)
class SSHReach:
    """How to reach one host: the values the runner connects with, and whether they were configured."""

    host_id: str
    host_name: str
    address: str
    port: int
    user: str
    allow_repairs: bool
    configured: bool


def find_host(session: Session, name: str, customer: str | None = None) -> Host:
    """Return the host with id or name `name` (of `customer`); NotFound, or Invalid when ambiguous."""
    query = select(Host).where(or_(Host.id == name, Host.name == name))
    if customer is not None:
        query = query.join(Customer, Customer.id == Host.customer_id).where(Customer.name == customer)
    hosts = list(session.scalars(query))
    if not hosts:
        raise NotFound(f"host {name}: no such host" + (f" of customer {customer}" if customer else ""))
    if len(hosts) > 1:
        raise Invalid(f"customer: several customers have a host {name}; name the customer")
    return hosts[0]


def reach(session: Session, host: Host, default_user: str) -> SSHReach:
    """Return how the host is reached over SSH: its target, or its name on port 22 as `default_user`."""
    target = session.get(HostSSHTarget, host.id)
    if target is None:
        return SSHReach(host.id, host.name, host.name, 22, default_user, False, False)
    return SSHReach(host.id, host.name, target.address, target.port, target.user, target.allow_repairs, True)


def set_target(session: Session, host: Host, now: datetime, *, address: str, port: int = 22,
               user: str, allow_repairs: bool = False) -> SSHReach:
    """Record (or replace) the host's SSH target; Invalid for an address, port or user that cannot be."""
    if ADDRESS.fullmatch(address) is None:
        raise Invalid(f"address: expected a host name or IP address, got {address!r}")
    if not 1 <= port <= 65535:
        raise Invalid(f"port: expected 1 to 65535, got {port}")
    if USER.fullmatch(user) is None:
        raise Invalid(f"user: expected a login name ({USER.pattern}), got {user!r}")
    target = session.get(HostSSHTarget, host.id)
    if target is None:
        target = HostSSHTarget(host_id=host.id, address=address, port=port, user=user,
                               allow_repairs=allow_repairs, updated_at=now)
        session.add(target)
    else:
        target.address, target.port, target.user = address, port, user
        target.allow_repairs, target.updated_at = allow_repairs, now
    return SSHReach(host.id, host.name, address, port, user, allow_repairs, True)


def reported_fingerprints(session: Session, host: Host) -> list[str]:
    """Return the SSH host-key fingerprints (``SHA256:...``) the host's agent reported (its host facts).

    `fernwart-collector ssh trust` shows whether the scanned key matches one of them; a host without an
    agent reports none, and the person confirming the fingerprint alone decides.
    """
    return [key.fingerprint for key in reported_host_keys(session, host.id)]
