"""The curriculum projections: problems, submissions and feedback (rebuilt from the logs).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("supersedes", sa.LargeBinary(32)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("examples", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("due", sa.Integer),
        sa.PrimaryKeyConstraint("event_id", name="pk_problems"),
    )
    op.create_index("ix_problems_root", "problems", ["root", "seq"])
    op.create_table(
        "submissions",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("problem", sa.LargeBinary(32), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("language", sa.String(32), nullable=False),
        sa.Column("solution", sa.Text, nullable=False),
        sa.Column("checks", sa.Text, nullable=False),
        sa.Column("checks_passed", sa.Integer, nullable=False),
        sa.Column("checks_total", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_submissions"),
    )
    op.create_index("ix_submissions_problem", "submissions", ["problem"])
    op.create_index(
        "ix_submissions_author_problem", "submissions", ["author", "problem", "attempt"]
    )
    op.create_table(
        "feedback",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("submission", sa.LargeBinary(32), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("supersedes", sa.LargeBinary(32)),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("score", sa.Integer),
        sa.Column("comment", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_submission", "feedback", ["submission"])
    op.create_index("ix_feedback_root", "feedback", ["root", "seq"])
    request_projection_rebuild()


def request_projection_rebuild() -> None:
    """Have the store rebuild every projection from the logs once migrations are done.

    The rebuild runs the projection code of the running version against the final schema;
    running today's projectors inside this migration would break as soon as a later
    migration changed a projection table.
    """
    op.get_bind().execute(
        sa.text("INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuild_projections', '1')")
    )


def downgrade() -> None:
    for table in ("feedback", "submissions", "problems"):
        op.drop_table(table)
