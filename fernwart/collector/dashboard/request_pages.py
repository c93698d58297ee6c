"""The service request form: a customer's account (or a technician for a customer) opens a ticket about
one of its hosts by hand, through `services.requests.open_request`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fernwart.collector.dashboard.web import Viewing, error_page, redirect, refusal_page, render
from fernwart.collector.deps import DB, Now
from fernwart.collector.services import read, requests
from fernwart.collector.services.errors import Forbidden, NotFound, ServiceError
from fernwart.collector.services.permissions import Permission, allowed
from fernwart.collector.statuses import status_of

router = APIRouter(include_in_schema=False)


def _form(
    request: Request, db: DB, signed_in: Viewing, status_code: int = 200, message: str = "", **given: str
) -> Response:
    hosts = [h for h in read.hosts.listed(db, signed_in.user) if h.customer is not None]
    return render(
        request, "request.html", signed_in, status_code, hosts=hosts, urgencies=list(requests.URGENCIES),
        message=message, given=given,
    )


@router.get("/requests/new")
def request_form(request: Request, db: DB, signed_in: Viewing, host: str = "") -> Response:
    """Show the form for a new service request (hosts of the viewer's customers only)."""
    if not allowed(signed_in.user, Permission.REQUEST_SERVICE):
        refused = Forbidden(f"role {signed_in.user.role} may not {Permission.REQUEST_SERVICE.value}")
        return refusal_page(request, signed_in, refused)
    return _form(request, db, signed_in, host=host[:36])


@router.post("/requests")
def open_request(
    request: Request,
    db: DB,
    now: Now,
    signed_in: Viewing,
    csrf: Annotated[str, Form(max_length=200)] = "",
    host: Annotated[str, Form(max_length=36)] = "",
    title: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=20000)] = "",
    urgency: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Open the request and show its ticket; a wrong field shows the form again with what was wrong."""
    if not signed_in.csrf_valid(csrf):
        return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
    try:
        ticket = requests.open_request(db, signed_in.user, host, title, description, urgency, now)
    except NotFound:
        db.rollback()
        return _form(request, db, signed_in, 422, "Choose one of your hosts.", title=title,
                     description=description)
    except ServiceError as exc:
        db.rollback()
        if status_of(exc) == 403:
            return refusal_page(request, signed_in, exc)
        return _form(request, db, signed_in, status_of(exc), str(exc), host=host, title=title,
                     description=description)
    db.commit()
    return redirect(f"/tickets/{ticket.id}")
