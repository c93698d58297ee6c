"""Agent tokens: rotation with an overlap (no report lost), and a revoked host told so with 410."""

from __future__ import annotations

from typing import Any

from fernwart.collector.services import auth
from tests.collector.helpers import Harness, harness


def post_report(h: Harness, host_id: str, token: str) -> Any:
    return h.client.post(
        "/api/v1/reports", json={"host_id": host_id, "results": []},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_rotation_keeps_the_old_token_until_the_new_one_is_used(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, old = h.enroll("web01", customer="Muster GmbH")
        r = h.client.post("/api/v1/agent/rotate", headers={"Authorization": f"Bearer {old}"})
        assert r.status_code == 200, r.text
        new = r.json()["agent_token"]
        assert post_report(h, host_id, old).status_code == 200  # a report in flight still lands
        # the answer to a rotation got lost: asking again with the old token must not lock it out
        again = h.client.post("/api/v1/agent/rotate", headers={"Authorization": f"Bearer {old}"})
        newer = again.json()["agent_token"]
        assert post_report(h, host_id, new).status_code == 401  # replaced before it was ever used
        assert post_report(h, host_id, newer).status_code == 200
        assert post_report(h, host_id, old).status_code == 401  # overlap over once the new one is used


def test_a_revoked_host_is_answered_410_with_the_reason(database_url: str) -> None:
    with harness(database_url) as h:
        host_id, token = h.enroll("web01", customer="Muster GmbH")
        with h.sessions() as db:
            auth.revoke_host(db, "web01", None, h.clock.now)
            db.commit()
        r = post_report(h, host_id, token)
        assert r.status_code == 410
        assert "host web01 was revoked at 2026-11-22T10:00:00" in r.json()["error"]
