"""The daily partitions of `results` on PostgreSQL: which there are, making them ahead, detaching old ones.

Names carry the ranges (UTC days): `results_p<YYYYMMDD>` holds [day, day + 1), `results_until_<YYYYMMDD>`
(the table as it was before migration 0009) everything before that day, `results_default` whatever no
other partition takes (the periodic job moves such rows into their partition when it makes it).

Locks: a new partition is made as a table of its own and then attached, which takes SHARE UPDATE
EXCLUSIVE on `results` (ingest's inserts go on); detaching takes ACCESS EXCLUSIVE for a moment (a catalog
change, no data moved), under a short `lock_timeout` so ingest never waits behind it for longer; a
timeout leaves the partition for the next run. The detached table is downsampled and then dropped
without touching `results`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

PARENT = "results"
DEFAULT = "results_default"
LOCK_TIMEOUT = "500ms"
_DAILY = re.compile(r"^results_p(\d{8})$")
_LEGACY = re.compile(r"^results_until_(\d{8})$")


@dataclass(frozen=True)
class Partition:
    """One table of `results`: its name and UTC range [start, end); None is unbounded (the default)."""

    name: str
    start: datetime | None
    end: datetime | None
    attached: bool

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT


def _day(digits: str) -> datetime:
    return datetime.strptime(digits, "%Y%m%d").replace(tzinfo=UTC)


def parse(name: str, attached: bool) -> Partition | None:
    """Return the partition a table name stands for, or None for a name that is not one of ours."""
    if name == DEFAULT:
        return Partition(name, None, None, attached)
    if found := _DAILY.match(name):
        start = _day(found.group(1))
        return Partition(name, start, start + timedelta(days=1), attached)
    if found := _LEGACY.match(name):
        return Partition(name, None, _day(found.group(1)), attached)
    return None


def daily_name(day: date) -> str:
    return f"results_p{day:%Y%m%d}"


def listed(conn: Connection) -> list[Partition]:
    """Return the attached partitions of `results` and detached leftovers (a run stopped before its drop)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, i.inhparent IS NOT NULL FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
            "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = CAST(:parent AS regclass) "
            "WHERE c.relkind = 'r' AND (c.relname LIKE 'results\\_p%' "
            "OR c.relname LIKE 'results\\_until\\_%' OR c.relname = :default)"
        ),
        {"parent": PARENT, "default": DEFAULT},
    ).all()
    found = [parse(name, bool(attached)) for name, attached in rows]
    return sorted(
        (p for p in found if p is not None), key=lambda p: p.end or datetime.max.replace(tzinfo=UTC)
    )


def missing_ahead(partitions: list[Partition], now: datetime, days: int) -> list[date]:
    """Return the UTC days from today to `days` ahead that no attached partition covers."""
    covered = [p for p in partitions if p.attached and not p.is_default]
    today = now.astimezone(UTC).date()
    wanted = [today + timedelta(days=n) for n in range(days + 1)]

    def covers(p: Partition, day: date) -> bool:
        at = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return (p.start is None or p.start <= at) and (p.end is None or at < p.end)

    return [day for day in wanted if not any(covers(p, day) for p in covered)]


def create(conn: Connection, day: date) -> int | None:
    """Make the partition of `day` and attach it; return how many rows it took over from the default, or
    None when the default partition was busy for longer than LOCK_TIMEOUT (the next run tries again).

    Commits. Rows of that day in the default partition move in the same transaction (the attach would be
    refused otherwise); the attach locks the default partition (not `results`) while it checks it.
    """
    name = daily_name(day)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    bounds = {"start": start, "end": end}
    try:
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
        conn.execute(
            text(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_range "
                f"CHECK (observed_at >= '{start.isoformat()}' AND observed_at < '{end.isoformat()}')"
            )
        )
        moved = conn.execute(
            text(
                f"WITH gone AS (DELETE FROM {DEFAULT} WHERE observed_at >= :start AND observed_at < :end "
                f"RETURNING *) INSERT INTO {name} SELECT * FROM gone"
            ),
            bounds,
        ).rowcount
        conn.execute(
            text(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )
        conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range"))
        conn.commit()
    except OperationalError:
        conn.rollback()
        return None
    return moved


def detach(conn: Connection, partition: Partition) -> bool:
    """Detach `partition` from `results`; return False when ingest held the table for too long (the
    next run tries again). Commits."""
    try:
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {partition.name}"))
        conn.commit()
    except OperationalError:
        conn.rollback()
        return False
    return True


def drop(conn: Connection, partition: Partition) -> None:
    """Drop a detached partition's table (touches no other table). The caller commits."""
    assert not partition.attached, "only detached partitions are dropped"
    conn.execute(text(f"DROP TABLE {partition.name}"))


def table_sizes(conn: Connection, tables: list[str]) -> dict[str, tuple[int, int]]:
    """Return table -> (bytes with indexes and partitions, estimated rows) for the tables that exist."""
    sizes: dict[str, tuple[int, int]] = {}
    for table in tables:
        row = conn.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0), "
                "coalesce(sum(greatest(c.reltuples, 0)), 0) "
                "FROM pg_partition_tree(to_regclass(:t)) t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf"
            ),
            {"t": table},
        ).one()
        sizes[table] = (int(row[0]), int(row[1]))
    return sizes
