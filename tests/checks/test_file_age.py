"""The file_age check on files in a temporary directory."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from fernwart.checks.file_age import FileAgeCheck
from fernwart.checks.status import Status
from tests.checks.fakes import NOW, make_probe


def backup(directory: Path, name: str, age: timedelta, size: int) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def run(directory: Path, **options: object) -> tuple[Status, str, dict[str, float | None]]:
    result = FileAgeCheck.from_config({"directory": str(directory), **options}).run(make_probe())
    return result.status, result.summary, {m.label: m.value for m in result.metrics}


def test_newest_matching_file_is_judged(tmp_path: Path) -> None:
    backup(tmp_path, "db-1.sql.gz", timedelta(days=3), 500)
    backup(tmp_path, "db-2.sql.gz", timedelta(hours=5), 2000)
    backup(tmp_path, "notes.txt", timedelta(minutes=1), 10)
    status, summary, metrics = run(tmp_path, pattern="*.sql.gz", min_size=1000)
    assert (status, summary) == (Status.OK, "newest db-2.sql.gz is 5h old")
    assert metrics == {"age": 5 * 3600, "size": 2000, "files": 2}


def test_too_old_and_too_small(tmp_path: Path) -> None:
    backup(tmp_path, "db.sql.gz", timedelta(hours=30), 10)
    status, summary, _ = run(tmp_path, pattern="*.gz", min_size=1024)
    assert status is Status.CRITICAL
    assert summary == "db.sql.gz has 10 B, less than 1.0 KiB; newest db.sql.gz is 1d 6h old"
    assert run(tmp_path, pattern="*.gz")[0] is Status.WARNING


def test_recursive_glob_and_directories_do_not_count(tmp_path: Path) -> None:
    backup(tmp_path, "a/b/deep.tar", timedelta(hours=1), 100)
    (tmp_path / "new.tar").mkdir()
    status, summary, metrics = run(tmp_path, pattern="**/*.tar")
    assert summary == "newest deep.tar is 1h old" and metrics["files"] == 1


def test_no_match_and_missing_directory_are_critical(tmp_path: Path) -> None:
    assert run(tmp_path, pattern="*.gz")[:2] == (Status.CRITICAL, f"no file matches *.gz in {tmp_path}")
    missing = tmp_path / "gone"
    assert run(missing)[:2] == (Status.CRITICAL, f"{missing} does not exist or is not a directory")
