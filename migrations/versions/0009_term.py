"""Schema for issue 20 (an instructor's term): late penalties and rubrics on problems, the
test folder's hash, rubric points and test score with feedback, and per-student extensions.

Problems and feedback stored before this revision carried none of these, so the defaults are
what they meant: no penalty, no rubric, no hash (a regrade grades them again). No rebuild is
needed: no event of an earlier version holds the new fields.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(sa.Column("late_penalty", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("late_cap", sa.Integer, nullable=False, server_default="100"))
        batch.add_column(sa.Column("rubric", sa.Text))
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("tests_hash", sa.String(64)))
        batch.add_column(sa.Column("tests_score", sa.Integer))
        batch.add_column(sa.Column("rubric", sa.Text))
    op.create_table(
        "extensions",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("problem", sa.LargeBinary(32), nullable=False),
        sa.Column("student", sa.LargeBinary(32)),
        sa.Column("due", sa.Integer),
        sa.Column("sealed", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("readable", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("invalid", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("envelope", sa.LargeBinary),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_extensions")),
    )
    op.create_index("ix_extensions_problem", "extensions", ["problem", "student"])


def downgrade() -> None:
    op.drop_index("ix_extensions_problem", table_name="extensions")
    op.drop_table("extensions")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("rubric")
        batch.drop_column("tests_score")
        batch.drop_column("tests_hash")
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("rubric")
        batch.drop_column("late_cap")
        batch.drop_column("late_penalty")
