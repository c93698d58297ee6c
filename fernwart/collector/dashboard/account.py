"""The signed-in account's own page (the timezone a technician reads times in) and the provider's logo."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fernwart.collector.dashboard.web import Viewing, error_page, redirect, refusal_page, render
from fernwart.collector.deps import DB
from fernwart.collector.services import preferences
from fernwart.collector.services.errors import ServiceError
from fernwart.collector.settings import LOGO_TYPES

router = APIRouter(include_in_schema=False)
LOGO_LIMIT = 1024 * 1024
COMMON_ZONES = ("UTC", "Europe/Berlin", "Europe/Vienna", "Europe/Zurich", "Europe/London", "America/New_York")


@router.get("/preferences")
def preferences_form(request: Request, db: DB, signed_in: Viewing) -> Response:
    """Show the timezone the account reads times in, and (for technicians) the form to choose another."""
    zones = [*COMMON_ZONES, *sorted(available_timezones() - set(COMMON_ZONES))]
    return render(request, "preferences.html", signed_in, zones=zones, message="")


@router.post("/preferences")
def choose(
    request: Request,
    db: DB,
    signed_in: Viewing,
    csrf: Annotated[str, Form(max_length=200)] = "",
    timezone: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Store the technician's timezone; customer accounts are refused (they see their contract's)."""
    if not signed_in.csrf_valid(csrf):
        return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
    try:
        preferences.choose_timezone(db, signed_in.user, timezone)
    except ServiceError as exc:
        db.rollback()
        return refusal_page(request, signed_in, exc)
    db.commit()
    return redirect("/preferences")


@router.get("/brand/logo")
def logo(request: Request) -> Response:
    """Answer the provider's logo (FERNWART_PROVIDER_LOGO) to anyone: the sign-in page shows it too."""
    path = request.app.state.settings.provider_logo
    if path is None:
        return Response(status_code=404)
    try:
        with path.open("rb") as found:
            body = found.read(LOGO_LIMIT + 1)
    except OSError:
        return Response(status_code=404)
    if len(body) > LOGO_LIMIT:
        return Response(status_code=404)
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",  # an SVG runs nothing
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "max-age=3600",
    }
    return Response(body, media_type=LOGO_TYPES[path.suffix.lower()], headers=headers)
