"""Fixtures for dashboard tests: a collector on a real database, and signed-in browser-like clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.collector.helpers import Harness, harness

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"


def hidden(html: str, name: str) -> str:
    """Return the value of the first hidden input called `name` in `html`."""
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden input {name!r} in page"
    return found.group(1)


def sign_in(client: TestClient, token: str, next_path: str = "/") -> TestClient:
    """Sign `client` in through the form with `token`; assert it worked."""
    form = client.get("/login", params={"next": next_path})
    assert form.status_code == 200, form.text
    r = client.post(
        "/login",
        data={"token": token, "login_csrf": hidden(form.text, "login_csrf"), "next": next_path},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "fernwart_session" in client.cookies
    return client


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    """Yield a collector on the test database whose secret lives in a temporary FERNWART_HOME."""
    with harness(database_url, home=tmp_path / "home") as h:
        yield h


def browser(site: Harness) -> TestClient:
    """Return a fresh cookie jar on the same app (another browser)."""
    return TestClient(site.client.app)
