"""The permission matrix per role and action, as the README states it, enforced through the API."""

from __future__ import annotations

import pytest

from fernwart.collector.services import auth
from fernwart.collector.services.auth import Account
from fernwart.collector.services.permissions import Permission, allowed
from tests.collector.helpers import harness, result

P = Permission
# role -> what it may do (the README's table); customers may only comment and request service.
MATRIX = {
    "level1": {P.COMMENT, P.WORK_TICKETS, P.ESCALATE, P.RUN_DIAGNOSTICS, P.REQUEST_SERVICE},
    "level2": {P.COMMENT, P.WORK_TICKETS, P.ESCALATE, P.HAND_BACK, P.CLOSE, P.ADD_WINDOWS, P.RUN_DIAGNOSTICS,
               P.RUN_REPAIRS, P.APPROVE_HOSTS, P.ENROLL_HOSTS,
               P.REQUEST_SERVICE},
    "level3": {P.COMMENT, P.WORK_TICKETS, P.ESCALATE, P.HAND_BACK, P.CLOSE, P.ADD_WINDOWS, P.RUN_DIAGNOSTICS,
               P.RUN_REPAIRS, P.APPROVE_HOSTS, P.ENROLL_HOSTS,
               P.REQUEST_SERVICE},
    "admin": set(Permission),
}


def account(role: str, customer: int | None = None) -> Account:
    return Account(1, "someone", role, customer, "hash")


@pytest.mark.parametrize("role", sorted(MATRIX))
@pytest.mark.parametrize("permission", list(Permission))
def test_matrix(role: str, permission: Permission) -> None:
    assert allowed(account(role), permission) is (permission in MATRIX[role])
    assert allowed(account(role, customer=7), permission) is (permission in (P.COMMENT, P.REQUEST_SERVICE))


@pytest.mark.parametrize(("role", "level", "may"), [
    ("level1", 1, True), ("level1", 2, False), ("level2", 2, True), ("level2", 3, False),
    ("level3", 3, True), ("admin", 3, True),
])
def test_working_a_ticket_needs_the_tickets_level(role: str, level: int, may: bool) -> None:
    assert allowed(account(role), P.WORK_TICKETS, level) is may
    assert allowed(account(role), P.COMMENT, level) is True  # anyone may still comment


def test_level1_escalates_then_only_comments_and_level2_takes_over(database_url: str) -> None:
    with harness(database_url) as h:
        with h.sessions() as db:
            first = auth.create_user(db, "lena", "level1", h.clock.now)
            second = auth.create_user(db, "omar", "level2", h.clock.now)
            db.commit()
        h.enroll("web01")
        h.report("web01", [result("disk", 2, h.clock.advance(seconds=1), max_attempts=1)])
        [ticket] = h.get("/api/v1/tickets")

        def act(token: str, action: str) -> int:
            url = f"/api/v1/tickets/{ticket['id']}/{action}"
            r = h.client.post(url, json={"message": "x"}, headers={"Authorization": f"Bearer {token}"})
            return r.status_code

        assert act(first, "acknowledge") == 200
        assert act(first, "escalate") == 200  # now at level 2
        r = h.client.post(f"/api/v1/tickets/{ticket['id']}/start", json={},
                          headers={"Authorization": f"Bearer {first}"})
        assert (r.status_code, r.json()["error"]) == (403, "role level1 may not work tickets at level 2")
        assert act(first, "comment") == 200
        assert act(first, "handback") == 403
        assert act(second, "start") == 200
        assert act(second, "resolve") == 200
        assert act(first, "close") == 403  # closing is level 2 and up
        assert act(second, "close") == 200
