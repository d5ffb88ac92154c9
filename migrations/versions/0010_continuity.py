"""Schema for issue 22 (backup, recovery, co-instructors, verify).

Placeholder in the revision chain, so that parallel work never makes two heads; empty until
its issue needs a table or column.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
