"""Host facts the agents report: stored per host, their SSH host keys one row per key type.

The facts arrive validated and size-limited (`api.schemas.HostFactsIn`); `report` stores them when their
digest differs from the stored one (a resend only moves `reported_at`) and replaces the host's key rows.
`reported_host_keys` is what a known_hosts for SSH to the host is made from: key type (the algorithm of
the .pub file, e.g. ``ssh-ed25519``) and ``SHA256:`` fingerprint, as the host's own agent reported them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fernwart.collector.models import Host, HostFacts, HostKey
from fernwart.collector.services.errors import NotFound


@dataclass(frozen=True)
class ReportedHostKey:
    """An SSH host key of a host as its agent reported it."""

    type: str  # e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa
    fingerprint: str  # SHA256:<base64 without padding>, as `ssh-keygen -lf` prints it
    reported_at: datetime


def digest(facts: dict[str, Any]) -> str:
    """Return the SHA-256 of `facts` in canonical JSON."""
    return hashlib.sha256(json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def report(session: Session, host: Host, facts: dict[str, Any], now: datetime) -> bool:
    """Store the validated `facts` of `host`; return whether they changed. The caller commits.

    `facts` holds the keys of `api.schemas.HostFactsIn`; a reported agent version also updates the
    host's `agent_version`.
    """
    found = digest(facts)
    row = session.get(HostFacts, host.id)
    if row is not None and row.digest == found:
        row.reported_at = now
        return False
    if row is None:
        row = HostFacts(host_id=host.id, digest=found, facts=facts, reported_at=now, changed_at=now)
        session.add(row)
    else:
        row.digest, row.facts, row.reported_at, row.changed_at = found, facts, now, now
    session.execute(delete(HostKey).where(HostKey.host_id == host.id))
    for key in facts.get("ssh_host_keys", ()):
        session.add(HostKey(host_id=host.id, key_type=key["type"], fingerprint=key["fingerprint"],
                            reported_at=now))
    if facts.get("agent_version"):
        host.agent_version = str(facts["agent_version"])[:50]
    return True


def report_for(session: Session, host_id: str, facts: dict[str, Any], now: datetime) -> bool:
    """Store `facts` for the host with `host_id` (at enrollment); see `report`."""
    host = session.get(Host, host_id)
    if host is None:
        raise NotFound(f"host {host_id} not found")
    return report(session, host, facts, now)


def reported_host_keys(session: Session, host_id: str) -> list[ReportedHostKey]:
    """Return the SSH host keys the agent of `host_id` reported, by key type; empty when none were.

    No scoping: for the collector's own use (the SSH runner's known_hosts), not for showing to callers.
    """
    rows = session.scalars(select(HostKey).where(HostKey.host_id == host_id).order_by(HostKey.key_type))
    return [ReportedHostKey(r.key_type, r.fingerprint, r.reported_at) for r in rows]
