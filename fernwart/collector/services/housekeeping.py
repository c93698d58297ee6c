"""Housekeeping: raw results kept for `Retention.results`, then downsampled and gone; history pruned.

What goes and what stays (availability and the monthly reports read only what stays):
- Raw results older than `results` (default 31 days) leave in small batches: each batch is added to the
  5-minute and hourly rollups (`domain.rollups`: check runs, metric min/avg/max) and the observation times
  availability needs for silence (`host_observations`) are kept, in the transaction that deletes it. On
  PostgreSQL whole days go at once: a day's partition is detached (a moment's lock), downsampled from the
  detached table with its progress kept in `collector_meta`, and dropped; rows in the default or the
  pre-0009 partition leave in batches like SQLite's.
- 5-minute rollups are kept for `five_minute` (default 93 days); hourly rollups, observation evidence and
  state changes for `history` (default 3 years). Of the state changes before that cut the newest HARD one
  per host and check stays: it sets the state at the cut, which availability needs.
- `results_ahead` rows leave once no retry of theirs would be accepted.

No step holds a lock ingest waits for longer than one small batch: rows are claimed with SKIP LOCKED,
every batch commits. With several collectors, one runs housekeeping at a time (an advisory lock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Engine,
    SmallInteger,
    String,
    Table,
    and_,
    column,
    delete,
    exists,
    func,
    or_,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.sql.expression import TableClause

from fernwart.checks.status import Status
from fernwart.collector.domain.availability import StatusSince, silence_allowed, stale_spans
from fernwart.collector.domain.rollups import FIVE_MINUTES, HOURLY, RawResult, downsample, evidence
from fernwart.collector.models import (
    CheckRollup,
    Host,
    HostObservation,
    MetaValue,
    MetricRollup,
    Result,
    ResultAhead,
    StateChange,
    UTCDateTime,
)
from fernwart.collector.services import partitions
from fernwart.protocol import HOST_CHECK, RESULT_MAX_AGE, RESULT_MAX_AHEAD

log = logging.getLogger("fernwart.collector.housekeeping")
LOCK_ID = 0x46_57_48_4B  # "FWHK"
BATCH = 2_000  # rows per transaction (PostgreSQL)
SQLITE_BATCH = 500  # SQLite has one writer: ingest waits for a whole batch
SQLITE_PAUSE = 0.05  # seconds between SQLite batches, so waiting ingest gets the lock (no fair queue)
# A result stored less than this long ago stays even past its retention: the agent may not have had the
# answer yet, and its retry must find the id (results up to `result_max_age` old are accepted).
RETRY_GRACE = timedelta(days=1)
EVIDENCE_MARGIN = timedelta(hours=1)  # at least this much before a stale span is kept as evidence
_PROGRESS = "housekeeping:"  # collector_meta key prefix: how far a detached partition was downsampled


@dataclass(frozen=True)
class Retention:
    """How long each kind of history is kept."""

    results: timedelta = timedelta(days=31)
    five_minute: timedelta = timedelta(days=93)
    history: timedelta = timedelta(days=3 * 366)
    partitions_ahead: int = 7  # days of partitions made ahead (PostgreSQL)
    result_max_age: timedelta = RESULT_MAX_AGE

    def __post_init__(self) -> None:
        if self.results < timedelta(days=1):
            raise ValueError("raw results must be kept for at least a day")
        if not self.results <= self.five_minute <= self.history:
            raise ValueError(
                "keep raw results <= 5-minute rollups <= history (hourly rollups, state changes)"
            )


@dataclass
class Outcome:
    """What a run did (or, dry, would do)."""

    dry_run: bool
    results_cutoff: datetime
    history_cutoff: datetime
    received_cutoff: datetime  # rows received later stay (a retry of theirs must still be seen)
    partitions_created: list[str] = field(default_factory=list)
    partitions_dropped: list[str] = field(default_factory=list)
    partitions_busy: list[str] = field(default_factory=list)  # detach timed out; next run
    results_downsampled: int = 0
    observations_kept: int = 0
    rollups_deleted: dict[int, int] = field(default_factory=lambda: {FIVE_MINUTES: 0, HOURLY: 0})
    state_changes_deleted: int = 0
    observations_deleted: int = 0
    ahead_ids_deleted: int = 0
    more: bool = False  # stopped at the row cap; the next run continues

    def lines(self) -> list[str]:
        """Return the outcome as lines for the command line and the log."""
        would = "would " if self.dry_run else ""
        return [
            f"raw results older than {self.results_cutoff.isoformat(timespec='seconds')}: {would}downsample "
            f"{self.results_downsampled} "
            "into 5-minute and hourly rollups and delete them",
            f"partitions: {would}create {', '.join(self.partitions_created) or 'none'}; "
            f"{would}drop {', '.join(self.partitions_dropped) or 'none'}"
            + (
                f"; busy, left for the next run: {', '.join(self.partitions_busy)}"
                if self.partitions_busy
                else ""
            ),
            f"observation times kept as availability evidence: {self.observations_kept}",
            f"5-minute rollups: {would}delete {self.rollups_deleted[FIVE_MINUTES]}; hourly rollups "
            f"older than {self.history_cutoff.isoformat(timespec='seconds')}: "
            f"{would}delete {self.rollups_deleted[HOURLY]}",
            f"state changes: {would}delete {self.state_changes_deleted} (the newest HARD one per check "
            "stays); "
            f"evidence: {would}delete {self.observations_deleted}; clamped result ids: {would}delete "
            f"{self.ahead_ids_deleted}",
        ] + (["stopped at the row cap; the next run continues"] if self.more else [])


def _results_table(name: str) -> TableClause:
    return table(
        name,
        column("id", String()),
        column("host_id", String()),
        column("check_name", String()),
        column("status", SmallInteger()),
        column("metrics", JSON()),
        column("observed_at", UTCDateTime()),
        column("received_at", UTCDateTime()),
    )


def run(
    sessions: sessionmaker[Session],
    now: datetime,
    retention: Retention,
    dry_run: bool = False,
    batch: int | None = None,
    cap: int = 500_000,
    pause: float | None = None,
) -> Outcome | None:
    """Run housekeeping as of `now`; return what it did, or None when another collector is running it.

    `cap` bounds the raw rows downsampled per run (`Outcome.more` says there is more); `batch` (rows per
    transaction) and `pause` (seconds between SQLite batches) default per database.
    """
    engine: Engine = sessions.kw["bind"]
    is_pg = engine.dialect.name == "postgresql"
    batch = batch or (BATCH if is_pg else SQLITE_BATCH)
    wait = (0.0 if is_pg else SQLITE_PAUSE) if pause is None else pause
    outcome = Outcome(dry_run, now - retention.results, now - retention.history, now - RETRY_GRACE)
    with engine.connect() as holder:
        if is_pg:
            got = holder.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": LOCK_ID})
            holder.commit()
            if not got:
                return None
        try:
            if is_pg:
                _partitions(engine, sessions, now, retention, outcome, batch, cap)
            sources = ["results"]
            if is_pg:
                with sessions() as db:
                    sources = [partitions.DEFAULT] + [p.name for p in _legacy_partitions(db)]
            for name in sources:
                _expire_rows(sessions, _results_table(name), outcome, batch, cap, dry_run, wait)
            _prune(sessions, now, retention, outcome, batch, dry_run)
        finally:
            if is_pg:
                holder.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                holder.commit()
    return outcome


def _legacy_partitions(db: Session) -> list[partitions.Partition]:
    return [
        p for p in partitions.listed(db.connection()) if p.attached and p.start is None and not p.is_default
    ]


def _partitions(
    engine: Engine,
    sessions: sessionmaker[Session],
    now: datetime,
    retention: Retention,
    outcome: Outcome,
    batch: int,
    cap: int,
) -> None:
    """Make the partitions ahead; detach, downsample and drop the days wholly before the cut."""
    cutoff = outcome.results_cutoff
    with engine.connect() as conn:
        found = partitions.listed(conn)
        conn.rollback()
        for day in partitions.missing_ahead(found, now, retention.partitions_ahead):
            if outcome.dry_run:
                outcome.partitions_created.append(partitions.daily_name(day))
                continue
            moved = partitions.create(conn, day)
            if moved is None:
                outcome.partitions_busy.append(partitions.daily_name(day))
            else:
                outcome.partitions_created.append(partitions.daily_name(day))
                if moved:
                    log.info(
                        "partition %s took %d rows over from the default", partitions.daily_name(day), moved
                    )
        expired = [p for p in found if not p.is_default and p.end is not None and p.end <= cutoff]
        expired += [p for p in found if not p.attached and p not in expired]
        for partition in expired:
            if outcome.dry_run:
                outcome.partitions_dropped.append(partition.name)
                source = _results_table(partition.name)
                outcome.results_downsampled += _count(conn, source, None, outcome.received_cutoff)
                conn.rollback()
                continue
            if partition.attached and not partitions.detach(conn, partition):
                outcome.partitions_busy.append(partition.name)  # the others would wait just as long
                return
            detached = partitions.Partition(partition.name, partition.start, partition.end, attached=False)
            if not _downsample_detached(sessions, detached, outcome, batch, cap):
                outcome.more = True
                return
            # rows that arrived late and recently go back (to the default partition) until their grace ends
            conn.execute(
                text(f"INSERT INTO results SELECT * FROM {detached.name} WHERE received_at >= :at"),
                {"at": outcome.received_cutoff},
            )
            partitions.drop(conn, detached)
            conn.commit()
            outcome.partitions_dropped.append(partition.name)


def _downsample_detached(
    sessions: sessionmaker[Session], partition: partitions.Partition, outcome: Outcome, batch: int, cap: int
) -> bool:
    """Downsample a detached partition batch by batch in key order; return True when it is done."""
    source = _results_table(partition.name)
    key = _PROGRESS + partition.name
    while outcome.results_downsampled < cap:
        with sessions() as db:
            mark = db.get(MetaValue, key)
            after = _parse_key(mark.value) if mark else None
            rows = _claim(db, source, None, outcome.received_cutoff, after, batch, lock=False)
            if not rows:
                if mark is not None:
                    db.delete(mark)
                db.commit()
                return True
            _downsample(db, rows, outcome)
            last = f"{rows[-1].observed_at.isoformat()}|{rows[-1].id}"
            if mark is None:
                db.add(MetaValue(key=key, value=last))
            else:
                mark.value = last
            db.commit()
    return False


def _parse_key(value: str) -> tuple[datetime, str]:
    at, _, rid = value.partition("|")
    return datetime.fromisoformat(at), rid


def _claim(
    db: Session,
    source: TableClause,
    cutoff: datetime | None,
    received_before: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
    lock: bool,
) -> Sequence[Any]:
    """Return the next `limit` rows of `source` in (observed_at, id) order, before `cutoff`, received
    before `received_before`, after `after`."""
    c = source.c
    query = select(c.id, c.host_id, c.check_name, c.status, c.metrics, c.observed_at)
    query = query.where(c.received_at < received_before)
    if cutoff is not None:
        query = query.where(c.observed_at < cutoff)
    if after is not None:
        query = query.where(or_(c.observed_at > after[0], and_(c.observed_at == after[0], c.id > after[1])))
    query = query.order_by(c.observed_at, c.id).limit(limit)
    if lock and db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.execute(query).all()


def _count(conn: Any, source: TableClause, cutoff: datetime | None, received_before: datetime) -> int:
    query = select(func.count()).select_from(source).where(source.c.received_at < received_before)
    if cutoff is not None:
        query = query.where(source.c.observed_at < cutoff)
    return int(conn.scalar(query) or 0)


def _expire_rows(
    sessions: sessionmaker[Session],
    source: TableClause,
    outcome: Outcome,
    batch: int,
    cap: int,
    dry_run: bool,
    pause: float,
) -> None:
    """Downsample and delete the rows of `source` before the cut, one batch per transaction."""
    cutoff = outcome.results_cutoff
    if dry_run:
        with sessions() as db:
            outcome.results_downsampled += _count(db, source, cutoff, outcome.received_cutoff)
        return
    while outcome.results_downsampled < cap:
        with sessions() as db:
            limit = min(batch, cap - outcome.results_downsampled)
            rows = _claim(db, source, cutoff, outcome.received_cutoff, None, limit, lock=True)
            if not rows:
                return
            _downsample(db, rows, outcome)
            c = source.c
            db.execute(
                delete(source).where(
                    c.observed_at >= rows[0].observed_at,
                    c.observed_at <= rows[-1].observed_at,
                    c.id.in_([r.id for r in rows]),
                )
            )
            db.commit()
        if pause:
            time.sleep(pause)
    outcome.more = True


def _downsample(db: Session, rows: Sequence[Any], outcome: Outcome) -> None:
    """Add `rows` to the rollups and keep the observation times availability needs; the caller commits."""
    raw = [RawResult(r.host_id, r.check_name, r.status, r.metrics or [], r.observed_at) for r in rows]
    runs, values = downsample(raw)
    dialect = db.get_bind().dialect.name
    if runs:
        _upsert(
            db,
            CheckRollup.__table__,
            dialect,
            [
                {
                    "host_id": h,
                    "check_name": c,
                    "resolution": res,
                    "bucket": b,
                    "runs": v.runs,
                    "not_ok": v.not_ok,
                }
                for (h, c, res, b), v in runs.items()
            ],
            adds=("runs", "not_ok"),
        )
    if values:
        _upsert(
            db,
            MetricRollup.__table__,
            dialect,
            [
                {
                    "host_id": h,
                    "check_name": c,
                    "resolution": res,
                    "bucket": b,
                    "metric": m[:128],
                    "samples": v.samples,
                    "min": v.min,
                    "max": v.max,
                    "total": v.total,
                }
                for (h, c, res, b, m), v in values.items()
            ],
            adds=("samples", "total"),
            smallest=("min",),
            largest=("max",),
        )
    kept = _evidence(db, raw)
    if kept:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.execute(insert(HostObservation).on_conflict_do_nothing(), kept)
        outcome.observations_kept += len(kept)
    outcome.results_downsampled += len(rows)


def _upsert(
    db: Session,
    target: Any,
    dialect: str,
    rows: list[dict[str, Any]],
    adds: tuple[str, ...],
    smallest: tuple[str, ...] = (),
    largest: tuple[str, ...] = (),
) -> None:
    """Insert rollup rows; a bucket already there adds counts and widens min/max."""
    rollups: Table = target
    insert = postgresql.insert(rollups) if dialect == "postgresql" else sqlite.insert(rollups)
    least, greatest = (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
    changes: dict[str, Any] = {name: rollups.c[name] + insert.excluded[name] for name in adds}
    changes |= {name: least(rollups.c[name], insert.excluded[name]) for name in smallest}
    changes |= {name: greatest(rollups.c[name], insert.excluded[name]) for name in largest}
    keys = [c.name for c in rollups.primary_key.columns]
    db.execute(insert.on_conflict_do_update(index_elements=keys, set_=changes), rows)


def _evidence(db: Session, raw: list[RawResult]) -> list[dict[str, Any]]:
    """Return the (host, observed_at) rows of `raw` inside or just before a span its host was stale."""
    first, last = raw[0].observed_at, raw[-1].observed_at
    hosts = {r.host_id for r in raw}
    changes: dict[str, list[StatusSince]] = {}
    for host_id, at, status, state_type in db.execute(
        select(StateChange.host_id, StateChange.at, StateChange.status, StateChange.state_type)
        .where(
            StateChange.check_name == HOST_CHECK, StateChange.hard.is_(True), StateChange.host_id.in_(hosts)
        )
        .order_by(StateChange.host_id, StateChange.at, StateChange.id)
    ):
        changes.setdefault(host_id, []).append(
            StatusSince(at, Status(status) if state_type == "HARD" else Status.OK)
        )
    if not changes:
        return []
    margins = {
        host_id: max(EVIDENCE_MARGIN, silence_allowed(stale_after, heartbeat))
        for host_id, stale_after, heartbeat in db.execute(
            select(Host.id, Host.stale_after, Host.heartbeat_interval).where(Host.id.in_(changes))
        )
    }
    kept: list[dict[str, Any]] = []
    for host_id, history in changes.items():
        margin = margins.get(host_id, EVIDENCE_MARGIN)
        spans = stale_spans(history, first, last + margin + timedelta(microseconds=1))
        if not spans:
            continue
        times = evidence((r.observed_at for r in raw if r.host_id == host_id), spans, margin)
        kept += [{"host_id": host_id, "observed_at": t} for t in times]
    return kept


def _prune(
    sessions: sessionmaker[Session],
    now: datetime,
    retention: Retention,
    outcome: Outcome,
    batch: int,
    dry_run: bool,
) -> None:
    """Delete rollups, state changes, evidence and clamped ids past their time, in batches."""
    five_cut, history_cut = now - retention.five_minute, outcome.history_cutoff
    for rollup in (CheckRollup, MetricRollup):
        for resolution, cut in ((FIVE_MINUTES, five_cut), (HOURLY, history_cut)):
            keys = list(cast(Table, rollup.__table__).primary_key.columns)
            found = select(*keys).where(rollup.resolution == resolution, rollup.bucket < cut)
            outcome.rollups_deleted[resolution] += _delete_batches(
                sessions, rollup, keys, found, batch, dry_run
            )
    newer = aliased(StateChange)
    superseded = exists().where(
        newer.host_id == StateChange.host_id,
        newer.check_name == StateChange.check_name,
        newer.hard.is_(True),
        newer.at < history_cut,
        or_(newer.at > StateChange.at, and_(newer.at == StateChange.at, newer.id > StateChange.id)),
    )
    found = select(StateChange.id).where(StateChange.at < history_cut, superseded)
    outcome.state_changes_deleted += _delete_batches(
        sessions, StateChange, [StateChange.id], found, batch, dry_run
    )
    evidence_keys: list[Any] = [HostObservation.host_id, HostObservation.observed_at]
    found = select(*evidence_keys).where(HostObservation.observed_at < history_cut)
    outcome.observations_deleted += _delete_batches(
        sessions, HostObservation, evidence_keys, found, batch, dry_run
    )
    # a retry of a clamped result is accepted while its observation is younger than result_max_age
    ahead_cut = now - retention.result_max_age - RESULT_MAX_AHEAD
    found = select(ResultAhead.id).where(ResultAhead.observed_at < ahead_cut)
    outcome.ahead_ids_deleted += _delete_batches(
        sessions, ResultAhead, [ResultAhead.id], found, batch, dry_run
    )


def _delete_batches(
    sessions: sessionmaker[Session], model: Any, keys: list[Any], found: Any, batch: int, dry_run: bool
) -> int:
    """Delete the rows `found` selects (their keys), `batch` per transaction; return how many."""
    if dry_run:
        with sessions() as db:
            return int(db.scalar(select(func.count()).select_from(found.subquery())) or 0)
    deleted = 0
    while True:
        with sessions() as db:
            chosen = found.limit(batch)
            if db.get_bind().dialect.name == "postgresql":
                chosen = chosen.with_for_update(skip_locked=True)
            rows = db.execute(chosen).all()
            if not rows:
                return deleted
            target = keys[0] if len(keys) == 1 else tuple_(*keys)
            values = [r[0] for r in rows] if len(keys) == 1 else [tuple(r) for r in rows]
            db.execute(delete(model).where(target.in_(values)))
            db.commit()
            deleted += len(rows)


@dataclass(frozen=True)
class TableSize:
    """One history table as /metrics shows it: bytes (None where SQLite cannot tell), rows (estimated
    on PostgreSQL), and the time of its oldest row (None when empty)."""

    table: str
    bytes: int | None
    rows: int
    oldest: datetime | None


_AGED: dict[str, Any] = {
    "results": Result.observed_at,
    "state_changes": StateChange.at,
    "check_rollups": CheckRollup.bucket,
    "metric_rollups": MetricRollup.bucket,
    "host_observations": HostObservation.observed_at,
    "results_ahead": ResultAhead.observed_at,
}


def table_sizes(db: Session) -> list[TableSize]:
    """Return the size, rows and oldest row of each history table (indexed queries only on PostgreSQL)."""
    conn = db.connection()
    is_pg = conn.dialect.name == "postgresql"
    found = partitions.table_sizes(conn, list(_AGED)) if is_pg else _sqlite_sizes(db)
    out = []
    for name, at in _AGED.items():
        size, rows = found.get(name, (None, None))
        if rows is None:
            rows = int(db.scalar(select(func.count()).select_from(at.class_)) or 0)
        out.append(TableSize(name, size, int(rows), db.scalar(select(func.min(at)))))
    return out


def _sqlite_sizes(db: Session) -> dict[str, tuple[int | None, int | None]]:
    """Return table -> (bytes of the table and its indexes, None) from SQLite's dbstat, where built in."""
    try:
        rows = db.execute(text(
            "SELECT m.tbl_name, sum(s.pgsize) FROM dbstat s JOIN sqlite_master m ON m.name = s.name "
            "GROUP BY m.tbl_name"
        )).all()
    except OperationalError:
        db.rollback()
        return {}
    return {name: (int(size), None) for name, size in rows}
