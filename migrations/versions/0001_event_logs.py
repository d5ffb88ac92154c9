"""Event logs, heads, forks, peers, and the profile and chat projections.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("local_id", sa.Integer, primary_key=True),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("id", sa.LargeBinary(32), nullable=False),
        sa.Column("prev", sa.LargeBinary(32)),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("local_id", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
        sa.UniqueConstraint("author", "seq", name="uq_events_author_seq"),
    )
    op.create_table(
        "heads",
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("id", sa.LargeBinary(32), nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("forked", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("author", name="pk_heads"),
    )
    op.create_table(
        "forks",
        sa.Column("rowid", sa.Integer, nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kept_id", sa.LargeBinary(32)),
        sa.Column("conflicting_id", sa.LargeBinary(32), nullable=False),
        sa.Column("conflicting_raw", sa.LargeBinary, nullable=False),
        sa.Column("recorded_at", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("rowid", name="pk_forks"),
        sa.UniqueConstraint("conflicting_id", name="uq_forks_conflicting_id"),
    )
    op.create_table(
        "peers",
        sa.Column("id", sa.LargeBinary(32), nullable=False),
        sa.Column("address", sa.String(128)),
        sa.Column("last_seen", sa.Integer),
        sa.Column("connected", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_peers"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )
    op.create_table(
        "profiles",
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("author", name="pk_profiles"),
    )
    op.create_table(
        "messages",
        sa.Column("event_id", sa.LargeBinary(32), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("room", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("reply_to", sa.LargeBinary(32)),
        sa.Column("recipient", sa.LargeBinary(32)),
        sa.Column("sealed", sa.LargeBinary),
        sa.PrimaryKeyConstraint("event_id", name="pk_messages"),
    )
    op.create_index("ix_messages_room_order", "messages", ["room", "ts", "author", "seq"])


def downgrade() -> None:
    for table in ("messages", "profiles", "meta", "peers", "forks", "heads", "events"):
        op.drop_table(table)
