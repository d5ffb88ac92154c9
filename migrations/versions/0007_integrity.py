"""Schema for issue 18 (removal pins, witnessed time).

- ``roster.until_seq`` and ``roster.reason``: a removal pins the removed author's log.
- ``checkpoints``, ``checkpoint_heads``: what each witness held, and when by its clock.
- ``class_settings``: the instructor's word on who witnesses and the skew granted.
- ``problems.hidden_detail``, ``problems.graded_attempts``: what a student sees of a failed
  hidden test, and how many attempts are graded.

The projections are rebuilt afterwards: removals already stored gain their pins, problems
their new fields, and chat rows stamped far in the future move to where they arrived
(``peer.log.hlc.arrival_order``).

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
    with op.batch_alter_table("roster") as batch:
        batch.add_column(sa.Column("until_seq", sa.Integer))
        batch.add_column(sa.Column("reason", sa.Text))
    op.create_table(
        "checkpoints",
        sa.Column("event_id", sa.LargeBinary(32), primary_key=True),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("time", sa.Integer, nullable=False),
    )
    op.create_index("ix_checkpoints_author", "checkpoints", ["author", "seq"])
    op.create_table(
        "checkpoint_heads",
        sa.Column("checkpoint", sa.LargeBinary(32), nullable=False),
        sa.Column("witness", sa.LargeBinary(32), nullable=False),
        sa.Column("witness_seq", sa.Integer, nullable=False),
        sa.Column("time", sa.Integer, nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("head", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("checkpoint", "author", name="pk_checkpoint_heads"),
    )
    op.create_index("ix_checkpoint_heads_author", "checkpoint_heads", ["author", "seq"])
    op.create_index(
        "ix_checkpoint_heads_witness", "checkpoint_heads", ["witness", "author", "witness_seq"]
    )
    op.create_table(
        "class_settings",
        sa.Column("event_id", sa.LargeBinary(32), primary_key=True),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("witnesses", sa.String(16), nullable=False),
        sa.Column("skew_ms", sa.Integer, nullable=False),
    )
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
    op.drop_table("class_settings")
    op.drop_index("ix_checkpoint_heads_witness", table_name="checkpoint_heads")
    op.drop_index("ix_checkpoint_heads_author", table_name="checkpoint_heads")
    op.drop_table("checkpoint_heads")
    op.drop_index("ix_checkpoints_author", table_name="checkpoints")
    op.drop_table("checkpoints")
    with op.batch_alter_table("roster") as batch:
        batch.drop_column("reason")
        batch.drop_column("until_seq")
