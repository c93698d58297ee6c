"""Signing in to the dashboard with an API token, and signing out."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fernwart.collector.dashboard.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    SignedIn,
    error_page,
    is_https,
    local_path,
    redirect,
    render,
    set_cookie,
    signer,
)
from fernwart.collector.deps import DB, Now, client_address
from fernwart.collector.services import auth
from fernwart.collector.throttle import Throttle

router = APIRouter(include_in_schema=False)


def _login_form(request: Request, next_path: str, status_code: int = 200, message: str = "") -> Response:
    nonce, form_value = signer(request).login_nonce()
    response = render(
        request, "login.html", None, status_code, next=next_path, login_csrf=form_value, message=message
    )
    set_cookie(request, response, LOGIN_COOKIE, nonce, 3600)
    return response


def _too_many(request: Request, next_path: str, wait: float) -> Response:
    response = _login_form(
        request, next_path, 429, f"Too many sign-in attempts. Please try again in {math.ceil(wait)} seconds."
    )
    response.headers["Retry-After"] = str(math.ceil(wait))
    return response


@router.get("/login")
def login_form(request: Request, signed_in: SignedIn, next: str = "/") -> Response:
    """Show the sign-in form (or go on to `next` when already signed in)."""
    if signed_in is not None:
        return redirect(local_path(next))
    return _login_form(request, local_path(next))


@router.post("/login")
def login(
    request: Request,
    db: DB,
    now: Now,
    token: Annotated[str, Form(max_length=200)] = "",
    login_csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the API token and start a session; the token itself is never stored in the browser."""
    target = local_path(next)
    if not signer(request).login_valid(request.cookies.get(LOGIN_COOKIE, ""), login_csrf):
        return _login_form(request, target, 403, "The sign-in form expired. Please try again.")
    throttle: Throttle = request.app.state.throttle
    address = client_address(request)
    wait = throttle.address_blocked_for(address, now)
    if wait:
        return _too_many(request, target, wait)
    user = auth.account_for_token(db, token.strip()) if token.strip() else None
    if user is None:
        throttle.failed(address, now, "dashboard sign-in")
        return _login_form(request, target, 401, "Unknown API token.")
    wait = throttle.sign_in(user.name, now)
    if wait:
        return _too_many(request, target, wait)
    response = redirect(target)
    session = signer(request).issue(user.id, user.token_hash, now)
    set_cookie(request, response, SESSION_COOKIE, session, SESSION_MAX_AGE)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request,
    db: DB,
    now: Now,
    signed_in: SignedIn,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """End the user's dashboard sessions (in every browser) and return to the sign-in form."""
    if signed_in is not None:
        if not signed_in.csrf_valid(csrf):
            return error_page(request, signed_in, 403, "The form's security token is missing or wrong.")
        auth.record_sign_out(db, signed_in.user.id, now)
        db.commit()
    response = redirect("/login")
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="strict"
    )
    return response
