"""Schema for issue 19 (chat edits and deletions, announcements, search).

- ``chat_revisions``: every ``edit`` and ``delete``, by the message it names; queries take
  the latest valid one, so a message is never changed in place.
- ``announcements``: the chat messages flagged as announcements (queries check the author's
  role), and ``dismissals``: which of them this data dir's person has put away (local, never
  synced, not a projection).
- ``chat_search``: an FTS5 index of the latest text of every message this identity can read,
  with the ``trigram`` tokenizer, so Korean (no spaces between the parts of a word) is found
  by any three characters of it. ``detail='none'`` keeps only which rows hold each trigram (no
  positions): half the size and about 1.7 times the insert rate of the full index, and a
  ``LIKE '%word%'`` still uses it (SQLite matches the word's trigrams, then checks each row).
- ``ix_messages_private``: a private conversation's pages without scanning the class's chat.

The projections are rebuilt afterwards, which fills the search index from the logs.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: SQLAlchemy's metadata cannot describe a virtual table: ``storage.schema.VIRTUAL_TABLES``
#: names it, and ``storage.projections._chat_text`` writes it with SQL of its own.
CHAT_SEARCH_DDL = (
    "CREATE VIRTUAL TABLE chat_search USING fts5(text, room UNINDEXED, author UNINDEXED, "
    "ts UNINDEXED, event_id UNINDEXED, recipient UNINDEXED, tokenize = 'trigram', "
    "detail = 'none')"
)


def upgrade() -> None:
    op.create_table(
        "chat_revisions",
        sa.Column("event_id", sa.LargeBinary(32), primary_key=True),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
        sa.Column("target", sa.LargeBinary(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("recipient", sa.LargeBinary(32)),
    )
    op.create_index(
        "ix_chat_revisions_target", "chat_revisions", ["target", "author", "action", "seq"]
    )
    op.create_table(
        "announcements",
        sa.Column("event_id", sa.LargeBinary(32), primary_key=True),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.Integer, nullable=False),
    )
    op.create_index("ix_announcements_ts", "announcements", ["ts"])
    op.create_table(
        "dismissals",
        sa.Column("event_id", sa.LargeBinary(32), primary_key=True),
        sa.Column("dismissed_at", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_messages_private",
        "messages",
        ["recipient", "ts", "author", "seq"],
        sqlite_where=sa.text("recipient IS NOT NULL"),
    )
    op.execute(CHAT_SEARCH_DDL)
    op.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuild_projections', '1')")


def downgrade() -> None:
    op.execute("DROP TABLE chat_search")
    op.drop_index("ix_messages_private", table_name="messages")
    op.drop_table("dismissals")
    op.drop_index("ix_announcements_ts", table_name="announcements")
    op.drop_table("announcements")
    op.drop_index("ix_chat_revisions_target", table_name="chat_revisions")
    op.drop_table("chat_revisions")
