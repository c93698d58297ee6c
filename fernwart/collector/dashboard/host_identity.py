"""The host page's identity part: approval (with its button), agent instance, reported facts, SSH keys.

Kept apart from `pages` so the host page's other parts change independently: `context` gives the values
the ``_host_identity.html`` partial shows, and the approve form posts here (CSRF-checked, through the same
`services.identity.approve` as the API).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from fernwart.collector.dashboard.web import Viewer, Viewing, error_page, redirect, refusal_page
from fernwart.collector.deps import DB, Now
from fernwart.collector.services import identity, read
from fernwart.collector.services.errors import NotFound, ServiceError
from fernwart.collector.services.permissions import Permission, allowed

router = APIRouter(include_in_schema=False)


def context(db: Session, signed_in: Viewer, host_id: str) -> dict[str, Any]:
    """Return what the identity partial shows of a host the viewer may see (NotFound otherwise)."""
    return {
        "host_facts": read.hosts.facts(db, signed_in.user, host_id),
        "may_approve": allowed(signed_in.user, Permission.APPROVE_HOSTS),
    }


@router.post("/hosts/{host_id}/approve")
def approve(
    request: Request, db: DB, now: Now, signed_in: Viewing, host_id: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Approve a host waiting for approval from its page, then show the page again."""
    if not signed_in.csrf_valid(csrf):
        return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
    try:
        identity.approve(db, signed_in.user, host_id[:36], now)
    except NotFound:
        return error_page(request, signed_in, 404, "No such host.")
    except ServiceError as exc:
        db.rollback()
        return refusal_page(request, signed_in, exc)
    db.commit()
    return redirect(f"/hosts/{host_id[:36]}")
