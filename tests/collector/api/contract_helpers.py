"""Contracts and hand-built state histories for the availability and windows API tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.collector.helpers import Harness, result

OCT = datetime(2026, 10, 1, tzinfo=UTC)
OCT_SECONDS = 31 * 86400
CUSTOMER = "Muster GmbH"


def contract(name: str = CUSTOMER, **overrides: Any) -> dict[str, Any]:
    """Return a contracts document for one customer: 24x7 UTC, target 99.9, host and check 'app' count."""
    spec: dict[str, Any] = {
        "kind": "full",
        "timezone": "UTC",
        "service_hours": "24x7",
        "availability": {"target": 99.9, "counts": ["host", "check:app"], "no_data": "exclude"},
        "priorities": {
            "matrix": {i: {"critical": "P1", "warning": "P2"} for i in ("high", "normal", "low")},
            "P1": {"response": "30m", "resolution": "4h"},
            "P2": {"response": "2h", "resolution": "1d"},
        },
        **overrides,
    }
    return {"customers": [{"name": name, "contract": spec, "hosts": [{"match": "*", "criticality": "high"}]}]}


def apply(h: Harness, document: dict[str, Any]) -> None:
    """Apply a contracts document through the API as the harness admin."""
    r = h.client.put("/api/v1/contracts", json=document, headers={"Authorization": f"Bearer {h.admin_token}"})
    assert r.status_code == 200, r.text


def history(h: Harness, host: str, check: str, changes: list[tuple[datetime, int]]) -> None:
    """Report `check` on `host` with HARD results (max_attempts 1) at the given times, in one batch."""
    r = h.report(host, [result(check, status, at, max_attempts=1) for at, status in changes])
    assert r.status_code == 200, r.text
