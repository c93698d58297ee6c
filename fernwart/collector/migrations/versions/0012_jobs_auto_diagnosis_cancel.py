"""jobs: auto-diagnosis (the checks an agent reports, one auto-run per ticket opening); cancel of a
delivered or running job (when it was asked for)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): job_events point at jobs, and SQLite's foreign keys refuse a copy.
    op.add_column("host_playbooks", sa.Column("checks", sa.JSON(), nullable=True))
    op.add_column("jobs", sa.Column("opening_event_id", sa.BigInteger(), nullable=True))
    op.create_index("uq_jobs_opening_event", "jobs", ["opening_event_id"], unique=True)
    op.add_column("jobs", sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE jobs DROP COLUMN cancel_requested_at")
    op.drop_index("uq_jobs_opening_event", table_name="jobs")
    op.execute("ALTER TABLE jobs DROP COLUMN opening_event_id")
    op.execute("ALTER TABLE host_playbooks DROP COLUMN checks")
