"""Schema for issue 20 (gradebook, rubrics, extensions, regrades, TAs).

Placeholder in the revision chain, so that parallel work never makes two heads; empty until
its issue needs a table or column.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
