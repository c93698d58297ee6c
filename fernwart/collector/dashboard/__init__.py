"""The dashboard under `/`: server-rendered pages for technicians and customers, signed-in by API token.

`collector.app.create_app` includes `router` and mounts `static_files()` at `STATIC_PATH`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles

from fernwart.collector.dashboard import (
    account,
    contract_pages,
    host_identity,
    pages,
    report_pages,
    request_pages,
    signin,
)
from fernwart.collector.dashboard.web import HERE, STATIC_PATH, install, not_found_page, wants_page

__all__ = ["STATIC_PATH", "install", "not_found_page", "router", "static_files", "wants_page"]

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(pages.router)
router.include_router(report_pages.router)
router.include_router(host_identity.router)
router.include_router(account.router)
router.include_router(request_pages.router)
router.include_router(contract_pages.router)


def static_files() -> StaticFiles:
    """Return the app serving the dashboard's stylesheet."""
    return StaticFiles(directory=HERE / "static")
