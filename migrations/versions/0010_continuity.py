"""Schema for issue 22 (backup, recovery, co-instructors, verify).

- ``roster.after``: the entry on the same peer that a roster entry's author held as current,
  so that entries by several instructors are ordered by what each had seen (DESIGN §10).
- ``roster.replaces``: the identity an admit's peer replaces (a student's lost key), so that
  reports count both identities' histories as one person's.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roster") as batch:
        # No event signed before this revision names ``after``: old rows keep NULL.
        batch.add_column(sa.Column("after", sa.LargeBinary(32)))
        batch.add_column(sa.Column("replaces", sa.LargeBinary(32)))


def downgrade() -> None:
    with op.batch_alter_table("roster") as batch:
        batch.drop_column("replaces")
        batch.drop_column("after")
