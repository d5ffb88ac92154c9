"""Schema for issue 19 (chat edits, announcements, search).

Placeholder in the revision chain, so that parallel work never makes two heads; empty until
its issue needs a table or column.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
