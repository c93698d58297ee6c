"""retention: results partitioned by day on PostgreSQL, rollups, observation evidence, clamped result ids

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00

PostgreSQL: the existing `results` table becomes the first partition of a new `results` partitioned by
RANGE (observed_at), as it is (no row is copied, none lost): `results_until_<day>` holds everything up to
the end of today; daily partitions `results_p<YYYYMMDD>` follow for the next days, and `results_default`
takes rows no partition covers (the periodic job moves them out when it creates their partition). The
primary key becomes (observed_at, id): a unique key must hold the partition key, and a time-first key is
written at its right edge (hot), not at a random place as the random UUID was. SQLite keeps its table and
gets an index on observed_at for batched deletion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

AHEAD_DAYS = 3  # daily partitions made here; the periodic job keeps making them ahead


def _when(column: str) -> sa.Column[datetime]:
    return sa.Column(column, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "results_ahead",
        sa.Column("id", sa.String(length=36), nullable=False),
        _when("observed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_ahead")),
    )
    op.create_table(
        "check_rollups",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column("check_name", sa.String(length=128), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        _when("bucket"),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("not_ok", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "host_id", "check_name", "resolution", "bucket", name=op.f("pk_check_rollups")
        ),
    )
    op.create_index("ix_check_rollups_resolution_bucket", "check_rollups", ["resolution", "bucket"])
    op.create_table(
        "metric_rollups",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column("check_name", sa.String(length=128), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        _when("bucket"),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("min", sa.Double(), nullable=False),
        sa.Column("max", sa.Double(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "host_id", "check_name", "resolution", "bucket", "metric", name=op.f("pk_metric_rollups")
        ),
    )
    op.create_index("ix_metric_rollups_resolution_bucket", "metric_rollups", ["resolution", "bucket"])
    op.create_table(
        "host_observations",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        _when("observed_at"),
        sa.PrimaryKeyConstraint("host_id", "observed_at", name=op.f("pk_host_observations")),
    )
    # housekeeping deletes state changes by age, /metrics shows the oldest
    op.create_index("ix_state_changes_at", "state_changes", ["at"])
    if op.get_bind().dialect.name != "postgresql":
        op.create_index("ix_results_observed_at", "results", ["observed_at"])
        return
    _partition_results()


def _partition_results() -> None:
    bind = op.get_bind()
    newest = bind.scalar(sa.text("SELECT max(observed_at) FROM results"))
    now = datetime.now(UTC)
    last = max(now, newest) if newest is not None else now
    boundary = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    legacy = f"results_until_{boundary:%Y%m%d}"
    op.execute(f"ALTER TABLE results RENAME TO {legacy}")
    op.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT pk_results")
    op.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT fk_results_host_id_hosts")
    op.execute(f"ALTER INDEX ix_results_host_check_observed RENAME TO ix_{legacy}_host_check_observed")
    op.execute(f"CREATE TABLE results (LIKE {legacy} INCLUDING DEFAULTS) PARTITION BY RANGE (observed_at)")
    op.execute("ALTER TABLE results ADD CONSTRAINT pk_results PRIMARY KEY (observed_at, id)")
    op.execute(
        "ALTER TABLE results ADD CONSTRAINT fk_results_host_id_hosts "
        "FOREIGN KEY (host_id) REFERENCES hosts (id)"
    )
    op.execute("CREATE INDEX ix_results_host_check_observed ON results (host_id, check_name, observed_at)")
    # the old rows stay where they are: the old table becomes the partition of everything before `boundary`
    op.execute(
        f"ALTER TABLE results ATTACH PARTITION {legacy} "
        f"FOR VALUES FROM (MINVALUE) TO ('{boundary.isoformat()}')"
    )
    op.execute("CREATE TABLE results_default PARTITION OF results DEFAULT")
    for day in range(AHEAD_DAYS):
        start = boundary + timedelta(days=day)
        op.execute(
            f"CREATE TABLE results_p{start:%Y%m%d} PARTITION OF results "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{(start + timedelta(days=1)).isoformat()}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # every row goes back into one plain table with the id as its key
        op.execute("CREATE TABLE results_plain (LIKE results INCLUDING DEFAULTS)")
        op.execute("ALTER TABLE results_plain ADD CONSTRAINT pk_results_plain PRIMARY KEY (id)")
        op.execute(
            "INSERT INTO results_plain SELECT * FROM results ORDER BY observed_at ON CONFLICT (id) DO NOTHING"
        )
        op.execute("DROP TABLE results")  # and its partitions
        op.execute("ALTER TABLE results_plain RENAME TO results")
        op.execute("ALTER TABLE results RENAME CONSTRAINT pk_results_plain TO pk_results")
        op.execute(
            "ALTER TABLE results ADD CONSTRAINT fk_results_host_id_hosts FOREIGN KEY (host_id) "
            "REFERENCES hosts (id)"
        )
        op.execute(
            "CREATE INDEX ix_results_host_check_observed ON results (host_id, check_name, observed_at)"
        )
    else:
        op.drop_index("ix_results_observed_at", table_name="results")
    op.drop_index("ix_state_changes_at", table_name="state_changes")
    op.drop_table("host_observations")
    op.drop_index("ix_metric_rollups_resolution_bucket", table_name="metric_rollups")
    op.drop_table("metric_rollups")
    op.drop_index("ix_check_rollups_resolution_bucket", table_name="check_rollups")
    op.drop_table("check_rollups")
    op.drop_table("results_ahead")
