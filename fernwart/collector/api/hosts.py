"""Endpoints technicians call about hosts: the list, each host's check states and stored results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fernwart.collector.api.inputs import BoundedInstant, HostId, SafeStr
from fernwart.collector.api.schemas import CheckStateOut, HostOut, ResultOut
from fernwart.collector.deps import DB, Tech
from fernwart.collector.services import read

router = APIRouter(prefix="/api/v1", tags=["technicians"])


@router.get("/hosts", response_model=list[HostOut])
def hosts(db: DB, user: Tech) -> list[HostOut]:
    """List the hosts this technician may see, with counts of their checks by status."""
    return [HostOut.model_validate(h) for h in read.hosts.listed(db, user)]


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
