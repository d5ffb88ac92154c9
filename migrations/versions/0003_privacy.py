"""The class roster and sealed curriculum (issue 10): roster, joins, shares, content keys and
one-student invites; the sealed part of submissions and feedback may be unreadable (NULL).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _sealed_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("sealed", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("readable", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("invalid", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("envelope", sa.LargeBinary),
    ]


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(
            sa.Column("review", sa.String(16), nullable=False, server_default="instructor")
        )
    with op.batch_alter_table("submissions") as batch:
        for name, type_ in (
            ("language", sa.String(32)),
            ("solution", sa.Text),
            ("checks", sa.Text),
            ("checks_passed", sa.Integer),
            ("checks_total", sa.Integer),
        ):
            batch.alter_column(name, existing_type=type_, nullable=True)
        for column in _sealed_columns():
            batch.add_column(column)
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("verdict", existing_type=sa.String(16), nullable=True)
        batch.alter_column("comment", existing_type=sa.Text, nullable=True)
        for column in _sealed_columns():
            batch.add_column(column)
    op.create_table(
        "roster",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("peer", sa.LargeBinary(32), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("role", sa.String(16)),
        sa.Column("invite", sa.LargeBinary(16)),
        sa.PrimaryKeyConstraint("event_id", name="pk_roster"),
    )
    op.create_index("ix_roster_peer", "roster", ["peer", "author", "seq"])
    op.create_table(
        "joins",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(16)),
        sa.PrimaryKeyConstraint("event_id", name="pk_joins"),
    )
    op.create_table(
        "shares",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("target", sa.LargeBinary(32), nullable=False),
        sa.Column("recipient", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_shares"),
    )
    op.create_index("ix_shares_target", "shares", ["target", "recipient"])
    op.create_table(
        "content_keys",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("key", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_content_keys"),
    )
    op.create_table(
        "invites",
        sa.Column("token_hash", sa.LargeBinary(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_invites"),
    )
    # Every projection is remade by this version's code (readable rows, the roster).
    op.get_bind().execute(
        sa.text("INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuild_projections', '1')")
    )


def downgrade() -> None:
    for table in ("invites", "content_keys", "shares", "joins", "roster"):
        op.drop_table(table)
    with op.batch_alter_table("feedback") as batch:
        for name in ("envelope", "invalid", "readable", "sealed"):
            batch.drop_column(name)
    with op.batch_alter_table("submissions") as batch:
        for name in ("envelope", "invalid", "readable", "sealed"):
            batch.drop_column(name)
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("review")
