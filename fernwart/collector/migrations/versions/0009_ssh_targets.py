"""where hosts are reached over SSH; jobs say whether an agent or the collector over SSH runs them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ssh_targets",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("allow_repairs", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_ssh_targets_host_id_hosts")),
        sa.PrimaryKeyConstraint("host_id", name=op.f("pk_ssh_targets")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via", sa.String(length=8), nullable=False, server_default="agent"))
    op.create_index("ix_jobs_via_state", "jobs", ["via", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_via_state", table_name="jobs")
    # A plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of `jobs` would drop the table that
    # job_events points at, which SQLite's foreign keys refuse.
    op.execute("ALTER TABLE jobs DROP COLUMN via")
    op.drop_table("ssh_targets")
