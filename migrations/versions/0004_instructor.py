"""Grading, deadlines and late policy (issue 12): the languages a problem accepts and what
happens to work submitted after its due date.

Problems stored before this revision named neither, so the defaults are what they meant:
python only, late work marked late. No rebuild is needed.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(
            sa.Column("languages", sa.Text, nullable=False, server_default='["python"]')
        )
        batch.add_column(
            sa.Column("late_policy", sa.String(16), nullable=False, server_default="mark")
        )


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("late_policy")
        batch.drop_column("languages")
