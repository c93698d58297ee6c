"""flap histories restarted under Nagios' recording rule

Up to 0.2 every result went into a check's flap history, SOFT problems too; now only what Nagios records
does (every result but a SOFT problem). A history written under the old rule would keep its SOFT bounces
for up to 21 more results and hold tickets back that Nagios would not. Each check's history restarts as
a steady run of its HARD status (the last entry Nagios would have recorded), with 0 % state change. The
flapping flag is kept: a check flagged flapping stops at its next recorded result that leaves it at or
below the low threshold, and a ticket it held back opens then, as when any flapping check settles.

Downgrade leaves the histories as they are (the old code reads them unchanged).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HISTORY = 21  # Nagios' MAX_STATE_HISTORY_ENTRIES, as in collector.domain.flapping (kept here: a
# migration must not change when the code it once ran with does)


def upgrade() -> None:
    steady = " ".join(f"WHEN {status} THEN '{str(status) * HISTORY}'" for status in range(4))
    op.execute(
        f"UPDATE check_states SET flap_history = CASE hard_status {steady} ELSE '' END, flap_percent = 0"
    )


def downgrade() -> None:
    pass
