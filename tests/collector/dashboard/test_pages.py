"""Dashboard pages and ticket forms on SQLite and PostgreSQL: content, escaping, scoping, CSRF."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from fernwart.collector.services import auth
from tests.collector.dashboard.conftest import ESCAPED, HOSTILE, browser, hidden, sign_in
from tests.collector.helpers import T0, Harness, result


def hostile_result(status: int = 2) -> dict[str, Any]:
    """Return a result whose every free-text field an agent controls carries markup."""
    return {
        **result("app", status, T0, summary=HOSTILE, max_attempts=2),
        "long_output": f"line 1\n{HOSTILE}",
        "metrics": [{"label": f"{HOSTILE}", "value": 1.5, "uom": "s", "warn": "1", "crit": "2"}],
    }


def failing_host(site: Harness, name: str = "web01", customer: str | None = None) -> tuple[str, int]:
    """Enroll `name`, report a HARD CRITICAL with hostile text, and return (host id, ticket id)."""
    host_id, _ = site.enroll(name, customer)
    for _ in range(2):
        assert site.report(name, [hostile_result()]).status_code == 200
    tickets = site.get("/api/v1/tickets", host=host_id)
    assert len(tickets) == 1
    return host_id, int(tickets[0]["id"])


def test_the_overview_counts_hosts_tickets_and_checks_and_lists_problems(site: Harness) -> None:
    site.enroll("web01")
    site.enroll("db01")
    site.enroll("idle01")
    site.report("web01", [result("app", 2, T0, max_attempts=3), result("disk", 0, T0)])
    site.report("db01", [result("pg", 1, T0, summary="replication lag 40s")])
    client = sign_in(site.client, site.admin_token)
    page = client.get("/").text
    counts = dict(re.findall(r'h-(\w+)">\w+</span></dt><dd>(\d+)</dd>', page))
    assert counts == {"up": "2", "unreachable": "0", "pending": "1"}
    checks = dict(re.findall(r's-\w+">(\w+)</span></dt><dd>(\d+)</dd>', page))
    # OK: disk, and the reachability pseudo-check "host" of both reporting hosts (as the API counts)
    assert checks == {"OK": "3", "WARNING": "1", "CRITICAL": "1", "UNKNOWN": "0"}
    assert 'href="/tickets?state=new">new</a></dt><dd>0</dd>' in page
    problems = page.split("<h2>Problems</h2>")[1]
    # CRITICAL before WARNING; both SOFT at attempt 1 of their max_attempts
    assert problems.index(">app<") < problems.index(">pg<")
    assert '<span class="statetype t-soft">SOFT</span> 1/3' in problems
    assert "replication lag 40s" in problems and ">disk<" not in problems
    assert "Times are shown in UTC." in page


def test_a_hard_failure_shows_as_hard_with_its_ticket(site: Harness) -> None:
    host_id, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    page = client.get("/").text
    assert '<span class="statetype t-hard">HARD</span> 2/2' in page
    assert 'href="/tickets?state=new">new</a></dt><dd>1</dd>' in page
    tickets = client.get("/tickets").text
    assert f'href="/tickets/{ticket_id}"' in tickets and f'href="/hosts/{host_id}"' in tickets


def test_everything_an_agent_reports_is_rendered_escaped(site: Harness) -> None:
    host_id, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    pages = {
        path: client.get(path) for path in ("/", f"/hosts/{host_id}", "/tickets", f"/tickets/{ticket_id}")
    }
    for path, page in pages.items():
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
        assert ESCAPED in page.text, path
        assert "script-src" not in page.headers["content-security-policy"]  # no script may run at all
    host_page = pages[f"/hosts/{host_id}"].text
    assert f"<pre>line 1\n{ESCAPED}</pre>" in host_page  # long output
    assert f'<span class="label">{ESCAPED}</span>=1.5s' in host_page  # perfdata label
    assert "(warn 1, crit 2)" in host_page


def test_a_technicians_comment_is_escaped_too(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    csrf = hidden(client.get(f"/tickets/{ticket_id}").text, "csrf")
    client.post(f"/tickets/{ticket_id}/comment", data={"csrf": csrf, "message": HOSTILE})
    page = client.get(f"/tickets/{ticket_id}").text
    assert page.count(f'<div class="message">{ESCAPED}</div>') == 2  # the opening failure and the comment
    assert "<script>alert" not in page


def test_the_host_page_shows_check_states_and_results_with_perfdata(site: Harness) -> None:
    host_id, _ = site.enroll("web01")
    site.report(
        "web01", [result("app", 0, T0, summary="app answers"), result("disk", 1, T0, summary="85% used")]
    )
    client = sign_in(site.client, site.admin_token)
    page = client.get(f"/hosts/{host_id}").text
    assert '<h1>web01 <span class="hoststate h-up">up</span></h1>' in page
    assert '<tr class="row-warning">' in page and '<span class="status s-warning">WARNING</span>' in page
    assert '<span class="label">v</span>=1' in page  # perfdata of the WARNING result
    assert "2026-11-22 10:00:00 UTC" in page
    only_disk = client.get(f"/hosts/{host_id}", params={"check": "disk"}).text.split('id="results"')[1]
    assert "85% used" in only_disk and "app answers" not in only_disk
    assert client.get("/hosts/no-such-host").status_code == 404


def test_the_ticket_list_filters_by_state(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    link = f'href="/tickets/{ticket_id}"'
    assert link in client.get("/tickets").text
    assert link in client.get("/tickets?state=new").text
    assert link not in client.get("/tickets?state=resolved").text
    assert link in client.get("/tickets?state=all").text
    assert client.get("/tickets?state=bogus").status_code == 422


def _form_csrf(client: TestClient, ticket_id: int) -> str:
    return hidden(client.get(f"/tickets/{ticket_id}").text, "csrf")


def test_a_technician_acknowledges_comments_on_and_resolves_a_ticket_through_the_forms(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    page = client.get(f"/tickets/{ticket_id}").text
    assert f'formaction="/tickets/{ticket_id}/acknowledge"' in page
    csrf = hidden(page, "csrf")
    r = client.post(
        f"/tickets/{ticket_id}/acknowledge", data={"csrf": csrf, "message": "on it"}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/tickets/{ticket_id}")
    assert site.get(f"/api/v1/tickets/{ticket_id}")["state"] == "acknowledged"
    page = client.get(f"/tickets/{ticket_id}").text
    assert "/acknowledge" not in page  # acknowledged once only
    again = client.post(f"/tickets/{ticket_id}/acknowledge", data={"csrf": csrf})
    assert again.status_code == 409 and "acknowledged already" in again.text
    empty = client.post(f"/tickets/{ticket_id}/comment", data={"csrf": csrf, "message": "  "})
    assert empty.status_code == 422 and "a comment needs text" in empty.text
    client.post(f"/tickets/{ticket_id}/comment", data={"csrf": csrf, "message": "disk replaced"})
    client.post(f"/tickets/{ticket_id}/resolve", data={"csrf": csrf, "message": "fixed"})
    ticket = site.get(f"/api/v1/tickets/{ticket_id}")
    assert ticket["state"] == "resolved"
    history = [(e["kind"], e["actor"], e["message"]) for e in ticket["events"]]
    assert history[1:] == [
        ("acknowledged", "admin", "on it"),
        ("comment", "admin", "disk replaced"),
        ("resolved", "admin", "fixed"),
    ]
    page = client.get(f"/tickets/{ticket_id}").text
    assert "/resolve" not in page and "disk replaced" in page


def test_ticket_forms_without_the_right_csrf_token_change_nothing(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    other = sign_in(browser(site), site.admin_token)
    foreign_csrf = _form_csrf(other, ticket_id)  # valid, but for another session
    for data in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": foreign_csrf}):
        r = client.post(f"/tickets/{ticket_id}/acknowledge", data=data)
        assert r.status_code == 403, data
    assert site.get(f"/api/v1/tickets/{ticket_id}")["state"] == "new"


def test_no_get_request_changes_a_ticket(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    for action in ("acknowledge", "comment", "resolve"):
        assert client.get(f"/tickets/{ticket_id}/{action}").status_code in (404, 405)
    assert site.get(f"/api/v1/tickets/{ticket_id}")["state"] == "new"


def test_an_unknown_action_or_ticket_is_404(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)
    csrf = _form_csrf(client, ticket_id)
    assert client.post(f"/tickets/{ticket_id}/delete", data={"csrf": csrf}).status_code == 404
    assert client.post("/tickets/999/acknowledge", data={"csrf": csrf}).status_code == 404
    assert client.get("/tickets/999").status_code == 404


def test_a_customer_account_sees_only_its_own_hosts_and_only_comments_on_tickets(site: Harness) -> None:
    own_host, own_ticket = failing_host(site, "shop01", customer="Muster GmbH")
    other_host, other_ticket = failing_host(site, "erp01", customer="Other AG")
    with site.sessions() as db:
        token = auth.create_user(db, "muster", "level1", site.clock.now, customer="Muster GmbH")
        db.commit()
    client = sign_in(browser(site), token)
    for path in ("/", "/hosts", "/tickets"):
        page = client.get(path).text
        assert own_host in page and other_host not in page, path
        assert "erp01" not in page, path
    assert "customer view" in client.get("/").text
    assert client.get(f"/hosts/{other_host}").status_code == 404
    assert client.get(f"/tickets/{other_ticket}").status_code == 404
    own = client.get(f"/tickets/{own_ticket}")
    assert own.status_code == 200 and "/acknowledge" not in own.text
    assert f'action="/tickets/{own_ticket}/comment"' in own.text  # the portal's one ticket action
    csrf = hidden(client.get("/").text, "csrf")
    assert client.post(f"/tickets/{own_ticket}/acknowledge", data={"csrf": csrf}).status_code == 403
    assert client.post(f"/tickets/{other_ticket}/acknowledge", data={"csrf": csrf}).status_code == 404
    assert site.get(f"/api/v1/tickets/{own_ticket}")["state"] == "new"


def test_pages_carry_security_headers_and_stay_out_of_the_api_description(site: Harness) -> None:
    client = sign_in(site.client, site.admin_token)
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    css = client.get("/static/dashboard/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/tickets" in paths and "/login" not in paths and "/" not in paths


def test_the_api_still_answers_json_errors(site: Harness) -> None:
    r = site.client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {uuid.uuid4()}"})
    assert r.status_code == 401 and r.json() == {"error": "unknown API token"}


def test_the_ticket_page_offers_only_actions_that_fit_the_state(site: Harness) -> None:
    _, ticket_id = failing_host(site)
    client = sign_in(site.client, site.admin_token)

    def offered() -> set[str]:
        page = client.get(f"/tickets/{ticket_id}").text
        return set(re.findall(rf'formaction="/tickets/{ticket_id}/(\w+)"', page))

    assert offered() == {"acknowledge", "start", "wait", "escalate", "resolve"}
    csrf = _form_csrf(client, ticket_id)
    for action, then in (
        ("start", {"wait", "escalate", "resolve"}),
        ("wait", {"resume", "escalate", "resolve"}),
        ("resume", {"wait", "escalate", "resolve"}),
        ("resolve", {"reopen", "close"}),
        ("close", set()),
    ):
        r = client.post(f"/tickets/{ticket_id}/{action}", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303, (action, r.text)
        assert offered() == then, action
    assert site.get(f"/api/v1/tickets/{ticket_id}")["state"] == "closed"


def test_the_api_docs_load_their_assets_from_the_collector_not_a_cdn(site: Harness) -> None:
    docs = site.client.get("/docs")
    assert docs.status_code == 200
    assert "cdn." not in docs.text and "https://" not in docs.text.replace("https://swagger.io", "")
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in docs.text and "/openapi.json" in docs.text
    script = site.client.get("/docs/assets/swagger-ui-bundle.js")
    css = site.client.get("/docs/assets/swagger-ui.css")
    assert script.status_code == 200 and len(script.content) > 100_000 and "SwaggerUIBundle" in script.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert site.client.get("/redoc").status_code == 404  # ReDoc would need a CDN too: not offered
