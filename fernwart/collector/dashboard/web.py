"""What every dashboard page shares: the signed-in viewer, templates, security headers, redirects."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fernwart.collector.dashboard.sessions import LIFETIME, SignedSession, Signer, load_secret
from fernwart.collector.deps import DB, Now
from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.services import auth, preferences
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import ServiceError
from fernwart.collector.statuses import status_of

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "fernwart_session"
LOGIN_COOKIE = "fernwart_login"
STATIC_PATH = "/static/dashboard"
CSS = f"{STATIC_PATH}/dashboard.css"
# Nothing but our own stylesheet may load; forms post only to us; no framing. A second wall behind
# autoescaping: even markup that slipped through could not run script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATUS_CLASSES = {"OK": "ok", "WARNING": "warning", "CRITICAL": "critical", "UNKNOWN": "unknown"}

_signer_lock = threading.Lock()


def signer(request: Request) -> Signer:
    """Return the application's session signer, loading (or creating) the secret on first use."""
    state = request.app.state
    found: Signer | None = getattr(state, "dashboard_signer", None)
    if found is None:
        with _signer_lock:
            found = getattr(state, "dashboard_signer", None)
            if found is None:
                found = Signer(load_secret(state.settings.home, os.environ))
                state.dashboard_signer = found
    return found


@dataclass(frozen=True)
class Viewer:
    """The signed-in technician or customer account behind a dashboard request."""

    user: Account
    session: SignedSession
    csrf: str
    signer: Signer
    timezone: str = preferences.DEFAULT_TIMEZONE  # the zone this account's pages show times in

    @property
    def may_change_tickets(self) -> bool:
        """Return whether this account may act on tickets (customer accounts may only look)."""
        return not self.user.is_customer

    def csrf_valid(self, token: str) -> bool:
        """Return whether a form's `token` is this session's CSRF token."""
        return self.signer.csrf_valid(self.session.session_id, token)


def viewer(request: Request, db: DB, now: Now) -> Viewer | None:
    """Return who is signed in, or None for a missing, forged, expired, revoked or signed-out session."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    keys = signer(request)
    verified = keys.verify(cookie, now)
    if verified is None:
        return None
    session, binding = verified
    user = auth.account_by_id(db, session.user_id)
    if user is None or not keys.bound(binding, user.token_hash):
        return None
    signed_out = auth.signed_out_at(db, user.id)
    if signed_out is not None and session.issued_at <= signed_out:
        return None
    zone = preferences.display_timezone(db, user)
    return Viewer(user, session, keys.csrf_token(session.session_id), keys, zone)


SignedIn = Annotated[Viewer | None, Depends(viewer)]


class SignInRequired(Exception):
    """Raised by `Viewing` for an anonymous visitor: the handler `install` registers sends them to sign in."""


def signed_in_viewer(signed_in: SignedIn) -> Viewer:
    """Return who is signed in; raise SignInRequired before any path or query parameter is read."""
    if signed_in is None:
        raise SignInRequired()
    return signed_in


Viewing = Annotated[Viewer, Depends(signed_in_viewer)]


# The zone of the page being rendered: `render` sets it from the viewer, `format_local` reads it (pages
# render synchronously in one thread, so a context variable keeps concurrent requests apart).
_page_zone: ContextVar[tzinfo] = ContextVar("page_zone", default=UTC)


def format_utc(value: datetime | None) -> str:
    """Format an aware datetime as UTC to the second; None as a dash."""
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_in(value: datetime | None, zone: tzinfo) -> str:
    """Format an aware datetime in `zone` to the second, with the zone's abbreviation; None as a dash."""
    if value is None:
        return "–"
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "UTC")


def format_local(value: datetime | None) -> str:
    """Format an aware datetime in the timezone of the page being rendered (see `render`)."""
    return format_in(value, _page_zone.get())


def time_formatter(signed_in: Viewer) -> Callable[[datetime], str]:
    """Return a formatter of times in the viewer's timezone, for text built before the page renders."""
    zone = load_zone(signed_in.timezone)
    return lambda value: format_in(value, zone)


def format_iso(value: datetime) -> str:
    """Format an aware datetime as ISO 8601 in UTC to the second, with Z (a <time datetime=...>)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def templates() -> jinja2.Environment:
    """Return the template environment; every template is autoescaped, whatever its name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = format_utc
    env.filters["local"] = format_local
    env.filters["iso"] = format_iso
    env.filters["status_class"] = lambda name: STATUS_CLASSES.get(str(name), "unknown")
    env.globals["css"] = CSS
    return env


def render(
    request: Request, template: str, signed_in: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the security headers; `signed_in` fills the header bar and forms' CSRF token."""
    context.setdefault("refresh", None)
    zone_name = signed_in.timezone if signed_in is not None else preferences.DEFAULT_TIMEZONE
    context.setdefault("provider", request.app.state.settings.provider_name)
    context.setdefault("logo", bool(request.app.state.settings.provider_logo))
    reset = _page_zone.set(load_zone(zone_name))
    try:
        html = templates().get_template(template).render(
            viewer=signed_in, path=request.url.path, timezone=zone_name, **context
        )
    finally:
        _page_zone.reset(reset)
    return HTMLResponse(html, status_code, headers=SECURITY_HEADERS)


def error_page(request: Request, signed_in: Viewer | None, status_code: int, message: str) -> HTMLResponse:
    """Render an error page with the given status."""
    return render(request, "error.html", signed_in, status_code, status=status_code, message=message)


def refusal_page(request: Request, signed_in: Viewer | None, error: ServiceError) -> HTMLResponse:
    """Render the error page of a service refusal, with the status the API would answer."""
    return error_page(request, signed_in, status_of(error), str(error))


def redirect(location: str) -> RedirectResponse:
    """Answer 303 See Other, so the browser follows with GET."""
    return RedirectResponse(location, 303, headers=SECURITY_HEADERS)


def to_login(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the sign-in page, remembering where they wanted to go."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect("/login" if wanted == "/" else f"/login?next={quote(wanted, safe='')}")


def local_path(target: str) -> str:
    """Return `target` if it is a path on this site, else "/" (no open redirect via ?next=)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return "/"


def is_https(request: Request) -> bool:
    """Return whether the browser reached us over https (directly, via a trusted proxy, or by config)."""
    public_url: str = request.app.state.settings.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """Set an HttpOnly, SameSite=Strict cookie, Secure whenever the site is served over https."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=is_https(request), httponly=True, samesite="strict"
    )


SESSION_MAX_AGE = int(LIFETIME.total_seconds())


# Paths that are never dashboard pages: a miss there stays the API's JSON error.
NOT_PAGES = ("/api/", "/healthz", "/metrics", "/openapi.json", "/docs", STATIC_PATH)


def wants_page(request: Request) -> bool:
    """Return whether a browser asked for a dashboard page (an unknown one answers an HTML 404 page)."""
    path = request.url.path
    return "text/html" in request.headers.get("accept", "") and not path.startswith(NOT_PAGES)


def not_found_page(request: Request) -> HTMLResponse:
    """Render the 404 page of an unknown dashboard path (no viewer: nothing is looked up for it)."""
    return error_page(request, None, 404, "No such page. The menu above leads to every page.")


def install(app: FastAPI) -> None:
    """Register the dashboard's handler that sends anonymous visitors to the sign-in page."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return to_login(request)


def ticket_number(text: str) -> int | None:
    """Return the ticket id in a path segment, or None when it is not one (the page then says 404)."""
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= 2**63 - 1 else None
