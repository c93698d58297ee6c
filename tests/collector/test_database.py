"""The SQLite database file is private to the collector's user, with its WAL and shared-memory files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from fernwart.collector.database import make_engine, migrate


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the common default, under which files come out world-readable
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_file_and_its_wal_are_0600(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "state" / "fernwart.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
            conn.commit()
            written = [path, path.with_name("fernwart.db-wal"), path.with_name("fernwart.db-shm")]
            assert {p.name: mode(p) for p in written if p.exists()} == {p.name: 0o600 for p in written}
    finally:
        engine.dispose()


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "fernwart.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
