"""flap detection on check states

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_states", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("flap_history", sa.String(length=21), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("flapping", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("flap_percent", sa.Float(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("check_states", schema=None) as batch_op:
        batch_op.drop_column("flap_percent")
        batch_op.drop_column("flapping")
        batch_op.drop_column("flap_history")
