"""agent lifecycle: enrollment tokens that are counted, revocable and may replace a named host;
agent tokens that rotate with an overlap; revoked hosts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrollment_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uses", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replace_host", sa.String(length=255), nullable=True))
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_token_prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_hosts_agent_token_prev_hash", ["agent_token_prev_hash"])


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_hosts_agent_token_prev_hash", type_="unique")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("token_issued_at")
        batch_op.drop_column("agent_token_prev_hash")
    with op.batch_alter_table("enrollment_tokens", schema=None) as batch_op:
        batch_op.drop_column("replace_host")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("uses")
