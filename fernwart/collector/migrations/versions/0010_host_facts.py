"""host identity: the agent instance a host is bound to, the facts and SSH host keys its agent reports,
and approval of new hosts per customer

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

HOST_COLUMNS = (
    "agent_instance", "instance_conflict", "instance_conflict_at", "approval", "approved_at", "approved_by",
)


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_instance", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("instance_conflict", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("instance_conflict_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("approval", sa.String(length=16), nullable=False, server_default="none")
        )
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=100), nullable=True))
    op.create_table(
        "host_facts",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_host_facts_host_id_hosts")),
        sa.PrimaryKeyConstraint("host_id", name=op.f("pk_host_facts")),
    )
    op.create_table(
        "host_keys",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column("key_type", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_host_keys_host_id_hosts")),
        sa.PrimaryKeyConstraint("host_id", "key_type", name=op.f("pk_host_keys")),
    )


def downgrade() -> None:
    op.drop_table("host_keys")
    op.drop_table("host_facts")
    # plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of `hosts` would drop the table that
    # results, tickets and jobs point at, which SQLite's foreign keys refuse (see 0008)
    for column in reversed(HOST_COLUMNS):
        op.execute(f"ALTER TABLE hosts DROP COLUMN {column}")
