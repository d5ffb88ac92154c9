"""Schema for issue 18 (removal pins, checkpoints, roles' tokens, hidden-test detail).

- ``problems.hidden_detail``, ``problems.graded_attempts``: what a student sees of a failed
  hidden test, and how many attempts are graded.

The projections are rebuilt afterwards: problems gain their new fields, and chat rows stamped
far in the future move to where they arrived (``peer.log.hlc.arrival_order``).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(
            sa.Column("hidden_detail", sa.String(16), nullable=False, server_default="names")
        )
        batch.add_column(sa.Column("graded_attempts", sa.Integer))
    op.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuild_projections', '1')")


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("graded_attempts")
        batch.drop_column("hidden_detail")
