"""Contracts and windows pages: what each customer was promised, its maintenance windows with the
maintenance log, and (for technicians who may) adding an ad-hoc window with a reason.

Reads go through the same services as `GET /api/v1/contracts`, `/windows` and `/maintenance-log`, writes
through `services.windows.add` like `POST /api/v1/windows`; a customer's account sees only its own
customer (any other name is 404) and adds nothing.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fernwart.collector.dashboard.web import Viewer, Viewing, error_page, redirect, refusal_page, render
from fernwart.collector.deps import DB, Now
from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.domain.errors import SpecError
from fernwart.collector.domain.windows import parse_instant
from fernwart.collector.services import contracts, read, windows
from fernwart.collector.services.availability import timezone_of
from fernwart.collector.services.errors import NotFound, ServiceError
from fernwart.collector.services.permissions import Permission, allowed, require
from fernwart.collector.services.read.windows import recurrence_text
from fernwart.collector.statuses import status_of

router = APIRouter(include_in_schema=False)
LOG_SHOWN = 100


@router.get("/contracts")
def contract_list(request: Request, db: DB, signed_in: Viewing, customer: str = "") -> Response:
    """Show the stored contract of each customer the viewer may see (or of one), as applied."""
    try:
        rows = [read.scope.customer(db, signed_in.user, customer)] if customer else read.scope.customers(
            db, signed_in.user
        )
    except NotFound:
        return error_page(request, signed_in, 404, "No such customer.")
    stored = {d["customer"]: d for row in rows for d in contracts.documents(db, row.id)}
    shown = [
        (row.name, stored.get(row.name), yaml.safe_dump(stored[row.name]["document"], sort_keys=False,
                                                         allow_unicode=True) if row.name in stored else "")
        for row in rows
    ]
    return render(request, "contracts.html", signed_in, contracts=shown)


def _windows_page(
    request: Request, db: DB, signed_in: Viewer, customer: str, status_code: int = 200, message: str = "",
    **given: str,
) -> Response:
    try:
        row = read.scope.customer(db, signed_in.user, customer)
    except NotFound:
        return error_page(request, signed_in, 404, "No such customer.")
    shown = []
    for listed in windows.listed(db, row.id):
        w = listed.window
        when = recurrence_text(w.every, w.timezone) if w.every else None
        shown.append((w, when, listed))
    return render(
        request, "windows.html", signed_in, status_code, customer=row, windows=shown,
        zone=timezone_of(db, row.id), log=read.hosts.maintenance_log(db, signed_in.user, row.name, LOG_SHOWN),
        may_add=allowed(signed_in.user, Permission.ADD_WINDOWS), message=message, given=given,
    )


@router.get("/windows")
def window_list(request: Request, db: DB, signed_in: Viewing, customer: str = "") -> Response:
    """Show the customers to choose from, or one customer's windows, the form to add one and the log."""
    if not customer:
        return render(request, "windows.html", signed_in, customer=None,
                      customers=read.scope.customers(db, signed_in.user))
    return _windows_page(request, db, signed_in, customer)


@router.post("/windows")
def window_add(
    request: Request,
    db: DB,
    now: Now,
    signed_in: Viewing,
    csrf: Annotated[str, Form(max_length=200)] = "",
    customer: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[str, Form(max_length=300)] = "all",
    starts: Annotated[str, Form(max_length=40)] = "",
    ends: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    sla_relevant: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Add an ad-hoc window (times are wall clock in the contract's timezone); show the page again."""
    if not signed_in.csrf_valid(csrf):
        return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
    given = {"name": name, "scope": scope, "starts": starts, "ends": ends, "reason": reason}
    try:
        row = read.scope.customer(db, signed_in.user, customer)
        require(signed_in.user, Permission.ADD_WINDOWS)
        zone = load_zone(timezone_of(db, row.id))
        try:
            starts_at, ends_at = parse_instant(starts, zone), parse_instant(ends, zone)
        except SpecError as exc:
            return _windows_page(request, db, signed_in, customer, 422, f"from/to: {exc}", **given)
        windows.add(
            db, customer=row.name, name=name.strip(), scope=scope.strip() or "all", starts_at=starts_at,
            ends_at=ends_at, reason=reason.replace("\x00", "\ufffd"), actor=signed_in.user.name, now=now,
            sla_relevant=sla_relevant == "yes",
        )
    except NotFound:
        return error_page(request, signed_in, 404, "No such customer.")
    except ServiceError as exc:
        db.rollback()
        if status_of(exc) == 403:
            return refusal_page(request, signed_in, exc)
        return _windows_page(request, db, signed_in, customer, status_of(exc), str(exc), **given)
    db.commit()
    return redirect(f"/windows?customer={quote(row.name, safe='')}")

