"""Endpoints technicians call about hosts: the list, each host's check states and stored results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fernwart.collector.api.inputs import BoundedInstant, HostId, SafeStr
from fernwart.collector.api.schemas import CheckStateOut, HostDetailOut, HostKeyOut, HostOut, ResultOut
from fernwart.collector.deps import DB, Now, Tech
from fernwart.collector.services import identity, read

router = APIRouter(prefix="/api/v1", tags=["technicians"])


@router.get("/hosts", response_model=list[HostOut])
def hosts(db: DB, user: Tech) -> list[HostOut]:
    """List the hosts this technician may see, with counts of their checks by status."""
    return [HostOut.model_validate(h) for h in read.hosts.listed(db, user)]


@router.get("/hosts/{host_id}", response_model=HostDetailOut)
def host(host_id: HostId, db: DB, user: Tech) -> HostDetailOut:
    """Return one host with its approval, agent instance and the facts its agent last reported."""
    view = read.hosts.one(db, user, host_id)
    found = read.hosts.facts(db, user, host_id)
    return HostDetailOut.model_validate({
        **HostOut.model_validate(view).model_dump(),
        "facts": found.facts,
        "facts_reported_at": found.reported_at,
        "facts_changed_at": found.changed_at,
        "ssh_host_keys": [HostKeyOut.model_validate(k) for k in found.ssh_host_keys],
    })


@router.post("/hosts/{host_id}/approve", response_model=HostOut)
def approve(host_id: HostId, db: DB, user: Tech, now: Now) -> HostOut:
    """Approve a host waiting for approval (level2, level3, admin); its results count from now on."""
    identity.approve(db, user, host_id, now)
    db.commit()
    return HostOut.model_validate(read.hosts.one(db, user, host_id))


@router.get("/hosts/{host_id}/checks", response_model=list[CheckStateOut])
def host_checks(host_id: HostId, db: DB, user: Tech) -> list[CheckStateOut]:
    """Return the current state of every check of a host, including its reachability ('host')."""
    return [CheckStateOut.model_validate(c) for c in read.hosts.checks(db, user, host_id)]


@router.get("/hosts/{host_id}/results", response_model=list[ResultOut])
def host_results(
    host_id: HostId,
    db: DB,
    user: Tech,
    check: Annotated[SafeStr | None, Query(max_length=128)] = None,
    since: BoundedInstant | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[ResultOut]:
    """Return a host's stored results, newest observation first, optionally for one check and since a time."""
    found = read.hosts.results(db, user, host_id, check=check, since=since, limit=limit)
    return [ResultOut.model_validate(r) for r in found]
