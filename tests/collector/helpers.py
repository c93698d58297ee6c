"""Builders for collector tests: an app on a real database, enrolled hosts, report bodies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from fernwart.collector import deps
from fernwart.collector.app import create_app
from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.models import utcnow
from fernwart.collector.services import auth
from fernwart.collector.settings import Settings

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
# A result_max_age for tests that report months of history before T0 in one go (an agent never does).
BACKFILL = timedelta(days=400)


@dataclass
class Clock:
    now: datetime = T0

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@dataclass
class Harness:
    client: TestClient
    clock: Clock
    admin_token: str
    sessions: Any
    hosts: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (host id, agent token)

    @property
    def auth(self) -> dict[str, str]:
        """Return the admin's Authorization header."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def enroll(self, name: str, customer: str | None = None) -> tuple[str, str]:
        with self.sessions() as db:
            token = auth.create_enrollment_token(db, self.clock.now, customer)
            db.commit()
        r = self.client.post("/api/v1/enroll", json={"token": token, "hostname": name, "os": "Linux"})
        assert r.status_code == 201, r.text
        body = r.json()
        self.hosts[name] = (body["host_id"], body["agent_token"])
        return body["host_id"], body["agent_token"]

    def report(self, name: str, results: list[dict[str, Any]], **extra: Any) -> Any:
        host_id, token = self.hosts[name]
        body = {"host_id": host_id, "results": results, **extra}
        return self.client.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"})

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, params=params, headers={"Authorization": f"Bearer {self.admin_token}"})
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, json: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            path, json=json or {}, headers={"Authorization": f"Bearer {self.admin_token}"}
        )


def result(
    check: str, status: int, at: datetime, summary: str = "", max_attempts: int = 3, rid: str | None = None
) -> dict[str, Any]:
    return {
        "id": rid or str(uuid.uuid4()),
        "check": check,
        "type": "plugin",
        "status": status,
        "summary": summary or f"{check} status {status}",
        "observed_at": at.isoformat(),
        "max_attempts": max_attempts,
        "metrics": [{"label": "v", "value": status, "uom": ""}],
    }


@contextmanager
def harness(database_url: str, admin_name: str = "admin", **settings: Any) -> Iterator[Harness]:
    engine = make_engine(database_url)
    app = create_app(Settings(run_jobs=False, **settings), engine=engine, migrate=False)
    clock = Clock()
    app.dependency_overrides[deps.now] = lambda: clock.now
    sessions = session_factory(engine)
    with sessions() as db:
        admin = auth.create_user(db, admin_name, "admin", utcnow())
        db.commit()
    try:
        with TestClient(app) as client:
            yield Harness(client, clock, admin, sessions)
    finally:
        engine.dispose()
