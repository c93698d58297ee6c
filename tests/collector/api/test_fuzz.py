"""The whole API fuzzed against its own OpenAPI document with schemathesis, on a real collector process.

Every operation, with the credentials its document names (an agent token for the agents' routes, an
admin's and a customer account's API token for the rest), on SQLite and on PostgreSQL. The bar: no 5xx,
no status, content type, header or body the document does not declare. The budget per operation is
bounded (FUZZ_EXAMPLES, default 12) to keep CI well under its limit; raise it locally to dig deeper:
``FUZZ_EXAMPLES=500 .venv/bin/pytest tests/collector/api/test_fuzz.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, GenerationMode, checks

from fernwart.collector.app import create_app
from fernwart.collector.settings import Settings
from tests.conftest import truncate_all
from tests.e2e.processes import Collector

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
AGENT_PATHS = ("/api/v1/reports", "/api/v1/agent/")


@dataclass
class Target:
    url: str
    tokens: dict[str, str]  # persona -> bearer token


def start(home: Path, database_url: str | None) -> Iterator[Target]:
    collector = Collector(home, database_url, job_interval=3600)
    collector.env["FERNWART_AUTH_FAILURE_LIMIT"] = "1000000"  # the fuzzer guesses tokens on purpose
    admin = collector.cli("user", "add", "fuzz-admin", "--role", "admin")
    customer = collector.cli(
        "user", "add", "fuzz-customer", "--role", "level1", "--customer", "Fuzz AG", "--create-customer"
    )
    enrollment = collector.cli("token", "create", "--customer", "Fuzz AG", "--uses", "1")
    collector.start()
    try:
        r = requests.post(f"{collector.url}/api/v1/enroll", json={"token": enrollment, "hostname": "fuzz01"},
                          timeout=10)
        assert r.status_code == 201, r.text
        agent = r.json()["agent_token"]
        now = datetime.now(UTC).isoformat()
        body = {"host_id": r.json()["host_id"], "results": [
            {"id": str(uuid.uuid4()), "check": "disk", "status": 2, "summary": "disk full",
             "observed_at": now, "max_attempts": 1}]}
        sent = requests.post(f"{collector.url}/api/v1/reports", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {agent}"})
        assert sent.status_code == 200, sent.text  # a host, a check and a ticket for the fuzzer to find
        yield Target(collector.url, {"admin": admin, "customer": customer, "agent": agent})
    finally:
        collector.stop()


@pytest.fixture(scope="module")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from start(tmp_path_factory.mktemp("fuzz-sqlite"), None)


@pytest.fixture(scope="module")
def pg_target(tmp_path_factory: pytest.TempPathFactory, pg_migrated: str) -> Iterator[Target]:
    truncate_all(pg_migrated)
    yield from start(tmp_path_factory.mktemp("fuzz-pg"), pg_migrated)


def exercise(case: schemathesis.Case, target: Target, persona: str) -> None:
    if case.path.startswith(AGENT_PATHS):
        persona = "agent"
    long_polls = ("/api/v1/agent/jobs", "/api/v1/agent/jobs/{job_id}/cancel")
    if case.path in long_polls and isinstance(case.query, dict):
        case.query["wait"] = 0  # a long-poll's wait is covered elsewhere; here it would only cost time
    headers = {"Authorization": f"Bearer {target.tokens[persona]}"}
    case.call_and_validate(base_url=target.url, headers=headers, checks=CHECKS, timeout=30)


def document() -> dict[str, Any]:
    """Return the collector's OpenAPI document as a fresh collector builds it (no server needed)."""
    home = Path(tempfile.mkdtemp(prefix="fernwart-openapi-"))
    try:
        return create_app(Settings(run_jobs=False, home=home), migrate=False).openapi()
    finally:
        shutil.rmtree(home, ignore_errors=True)


DOCUMENT = document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck), phases=[Phase.generate],
)


def test_the_served_document_is_the_one_fuzzed(sqlite_target: Target) -> None:
    assert requests.get(f"{sqlite_target.url}/openapi.json", timeout=10).json() == DOCUMENT


@pytest.mark.e2e
@pytest.mark.parametrize("db", ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.label for o in OPERATIONS])
def test_api(request: pytest.FixtureRequest, db: str, operation: APIOperation) -> None:
    target: Target = request.getfixturevalue(f"{db}_target")
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )
    for persona in ("admin", "customer"):
        fuzz_as(target, persona, strategy)


def fuzz_as(target: Target, persona: str, strategy: st.SearchStrategy[schemathesis.Case]) -> None:
    @FUZZ
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        exercise(case, target, persona)

    fuzz()
