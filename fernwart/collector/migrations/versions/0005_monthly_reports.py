"""monthly SLA reports stored once made, with revisions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_reports",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_by", sa.String(length=100), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_monthly_reports_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
    )
    op.create_index(
        "uq_monthly_reports_customer_month_revision",
        "monthly_reports",
        ["customer_id", "month", "revision"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_monthly_reports_customer_month_revision", table_name="monthly_reports")
    op.drop_table("monthly_reports")
