"""Smaller stored events and pagination indexes (issue 13).

- ``events`` loses ``prev`` and ``ts``: nothing looks them up, and both are in ``raw``.
- ``messages`` becomes the chat order itself (a WITHOUT ROWID table keyed by ``ts, author,
  seq``) and keeps only what orders and filters it; the text, reply and sealed box are read
  from the event's ``raw``. Existing rows are copied, not rebuilt.
- ``submissions`` and ``feedback`` get an index in their listing order, for keyset pages.

The freed pages stay in the file (SQLite reuses them for new events) until a ``VACUUM``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("events", "prev")
    op.drop_column("events", "ts")
    op.create_table(
        "messages_compact",
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("room", sa.String(64), nullable=False),
        sa.Column("recipient", sa.LargeBinary(32)),
        sa.PrimaryKeyConstraint("ts", "author", "seq", name="pk_messages"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO messages_compact (ts, author, seq, room, recipient) "
        "SELECT ts, author, seq, room, recipient FROM messages"
    )
    op.drop_index("ix_messages_room_order", table_name="messages")
    op.drop_table("messages")
    op.rename_table("messages_compact", "messages")
    op.create_index("ix_messages_room_order", "messages", ["room", "ts", "author", "seq"])
    op.create_index("ix_submissions_order", "submissions", ["ts", "author", "seq"])
    op.create_index("ix_feedback_order", "feedback", ["ts", "author", "seq"])


def downgrade() -> None:
    from peer.log import decode_event

    op.drop_index("ix_feedback_order", table_name="feedback")
    op.drop_index("ix_submissions_order", table_name="submissions")
    op.drop_index("ix_messages_room_order", table_name="messages")
    op.drop_table("messages")
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
    op.add_column("events", sa.Column("prev", sa.LargeBinary(32)))
    op.add_column("events", sa.Column("ts", sa.Integer, nullable=False, server_default="0"))
    conn = op.get_bind()
    rows = conn.exec_driver_sql("SELECT local_id, raw FROM events").fetchall()
    for local_id, raw in rows:
        event = decode_event(raw)
        conn.exec_driver_sql(
            "UPDATE events SET prev = ?, ts = ? WHERE local_id = ?",
            (event.prev, event.ts, local_id),
        )
    # The old messages table is refilled by the projection rebuild the store runs next.
    conn.exec_driver_sql(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuild_projections', '1')"
    )
