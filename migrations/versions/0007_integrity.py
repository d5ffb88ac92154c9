"""Schema for issue 18 (removal pins, checkpoints, roles' tokens, hidden-test detail).

Placeholder in the revision chain, so that parallel work never makes two heads; empty until
its issue needs a table or column.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
