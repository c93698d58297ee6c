"""The JSON API under /api/v1: thin handlers over the service layer; errors answered by `api.errors`."""

from fastapi import APIRouter

from fernwart.collector.api import (
    agents,
    contracts,
    diagnostics,
    enrollment,
    errors,
    hosts,
    openapi,
    reports,
    tickets,
)

router = APIRouter()
for _part in (agents, hosts, tickets, contracts, reports, diagnostics, enrollment):
    router.include_router(_part.router)

__all__ = ["errors", "openapi", "router"]
