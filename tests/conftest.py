"""Shared fixtures: real databases (SQLite files and a throwaway PostgreSQL database) with the schema."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import require

PG_ADMIN_URL = os.environ.get("FERNWART_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_admin():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def pg_available() -> tuple[bool, str]:
    """Return whether the test PostgreSQL server answers, and why not."""
    try:
        engine = _pg_admin()
        with engine.connect():
            pass
        engine.dispose()
        return True, ""
    except Exception as exc:  # noqa: BLE001 - any driver error means "not available here"
        return False, f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """Create a throwaway PostgreSQL database for this test session and drop it afterwards."""
    ok, why = pg_available()
    require(ok, why)
    name = f"fernwart_test_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated(pg_database: str) -> str:
    from fernwart.collector.database import make_engine, migrate

    engine = make_engine(pg_database)
    migrate(engine)
    engine.dispose()
    return pg_database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fernwart.collector.database import make_engine, migrate

    path = tmp_path_factory.mktemp("template") / "fernwart.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


def truncate_all(url: str) -> None:
    """Empty every table of the collector's schema in a PostgreSQL database."""
    from sqlalchemy import create_engine

    from fernwart.collector.models import Base

    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture
def pg_url(pg_migrated: str) -> str:
    """Return the test PostgreSQL database, emptied."""
    truncate_all(pg_migrated)
    return pg_migrated


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty, migrated database: a fresh SQLite file, or the cleaned test PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "fernwart.sqlite"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_migrated")
    truncate_all(url)
    yield url
