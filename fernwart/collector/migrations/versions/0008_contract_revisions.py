"""contract revisions kept; tickets remember the revision they were opened under

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_revisions",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contract_revisions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", "revision", name=op.f("pk_contract_revisions")),
    )
    # the revision in force now is the only one known; tickets open now keep it from here on
    op.execute(
        "INSERT INTO contract_revisions (customer_id, revision, document, applied_at, applied_by) "
        "SELECT customer_id, revision, document, applied_at, applied_by FROM contracts"
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contract_revision", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE tickets SET contract_revision = "
        "(SELECT c.revision FROM contracts c WHERE c.customer_id = tickets.customer_id) "
        "WHERE priority IS NOT NULL"
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of `tickets` would have to drop the
    # table that ticket history and notifications point at, which SQLite's foreign keys refuse.
    op.execute("ALTER TABLE tickets DROP COLUMN contract_revision")
    op.drop_table("contract_revisions")
