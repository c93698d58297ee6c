"""Signing in and out of the dashboard through its forms, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fernwart.collector.services import auth
from tests.collector.dashboard.conftest import browser, hidden, sign_in
from tests.collector.helpers import Harness


def test_anonymous_visitors_are_sent_to_the_sign_in_form(site: Harness) -> None:
    client = site.client
    r = client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    r = client.get("/tickets?state=all", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=%2Ftickets%3Fstate%3Dall")
    for path in ("/hosts", "/hosts/x", "/tickets/1"):
        assert client.get(path, follow_redirects=False).status_code == 303
    form = client.get("/login")
    assert form.status_code == 200 and 'name="token"' in form.text


def test_signing_in_sets_a_strict_httponly_session_cookie_without_the_token(site: Harness) -> None:
    client = site.client
    form = client.get("/login")
    r = client.post(
        "/login",
        data={"token": site.admin_token, "login_csrf": hidden(form.text, "login_csrf"), "next": "/tickets"},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/tickets")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("fernwart_session="))
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # plain http here; see the https test
    assert site.admin_token not in cookie and auth.hash_token(site.admin_token) not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "admin · admin" in page.text


def test_over_https_the_cookie_is_secure(site: Harness) -> None:
    client = TestClient(site.client.app, base_url="https://testserver")
    form = client.get("/login")
    r = client.post(
        "/login",
        data={"token": site.admin_token, "login_csrf": hidden(form.text, "login_csrf")},
        follow_redirects=False,
    )
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("fernwart_session="))
    assert "secure" in [a.strip().lower() for a in cookie.split(";")]


def test_a_wrong_token_is_refused(site: Harness) -> None:
    client = site.client
    form = client.get("/login")
    r = client.post(
        "/login",
        data={"token": "fwu_wrong", "login_csrf": hidden(form.text, "login_csrf")},
        follow_redirects=False,
    )
    assert r.status_code == 401 and "Unknown API token." in r.text
    assert "fernwart_session" not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_sign_in_without_the_form_nonce_is_refused(site: Harness) -> None:
    client = site.client
    client.get("/login")  # sets the nonce cookie, but the post forges its form value
    r = client.post(
        "/login", data={"token": site.admin_token, "login_csrf": "forged"}, follow_redirects=False
    )
    assert r.status_code == 403
    assert "fernwart_session" not in client.cookies
    fresh = browser(site)  # no nonce cookie at all, e.g. a cross-site post
    r = fresh.post("/login", data={"token": site.admin_token}, follow_redirects=False)
    assert r.status_code == 403 and "fernwart_session" not in fresh.cookies


def test_next_never_leads_off_site(site: Harness) -> None:
    client = site.client
    form = client.get("/login", params={"next": "//evil.example/x"})
    assert hidden(form.text, "next") == "/"
    r = client.post(
        "/login",
        data={
            "token": site.admin_token,
            "login_csrf": hidden(form.text, "login_csrf"),
            "next": "https://evil.example",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_signing_out_needs_the_csrf_token_and_ends_the_session_everywhere(site: Harness) -> None:
    client = sign_in(site.client, site.admin_token)
    other = sign_in(browser(site), site.admin_token)
    stolen = client.cookies["fernwart_session"]
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    csrf = hidden(client.get("/").text, "csrf")
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 303
    replay = browser(site)
    replay.cookies.set("fernwart_session", stolen)
    assert replay.get("/", follow_redirects=False).status_code == 303
    site.clock.advance(seconds=1)
    again = sign_in(browser(site), site.admin_token)
    assert again.get("/", follow_redirects=False).status_code == 200


def test_a_forged_or_expired_cookie_is_no_session(site: Harness) -> None:
    client = sign_in(site.client, site.admin_token)
    cookie = client.cookies["fernwart_session"]
    forged = browser(site)
    forged.cookies.set("fernwart_session", cookie[:-2] + "xx")
    assert forged.get("/", follow_redirects=False).status_code == 303
    site.clock.advance(hours=12, seconds=1)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_deleted_user_loses_the_session(site: Harness) -> None:
    from sqlalchemy import delete

    from fernwart.collector.models import User

    with site.sessions() as db:
        token = auth.create_user(db, "bob", "level1", site.clock.now)
        db.commit()
    client = sign_in(browser(site), token)
    with site.sessions() as db:
        db.execute(delete(User).where(User.name == "bob"))
        db.commit()
    assert client.get("/", follow_redirects=False).status_code == 303
