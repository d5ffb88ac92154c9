"""Table definitions. Alembic migrations create them; queries use these objects."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Every author's log, exactly as signed. ``local_id`` is this peer's insertion order, which
#: the gossip uses as a cursor (within one author it is also seq order).
events = Table(
    "events",
    metadata,
    Column("local_id", Integer, primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("id", LargeBinary(32), nullable=False, unique=True),
    Column("prev", LargeBinary(32)),
    Column("ts", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("received_at", Integer, nullable=False),
    UniqueConstraint("author", "seq", name="uq_events_author_seq"),
)

#: The head of each author's log (derivable from ``events``; kept for O(1) chain checks).
heads = Table(
    "heads",
    metadata,
    Column("author", LargeBinary(32), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("id", LargeBinary(32), nullable=False),
    Column("ts", Integer, nullable=False),
    Column("forked", Boolean, nullable=False, default=False),
)

#: Evidence of forks: a second validly signed event for an (author, seq) we already hold.
forks = Table(
    "forks",
    metadata,
    Column("rowid", Integer, primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kept_id", LargeBinary(32)),
    Column("conflicting_id", LargeBinary(32), nullable=False, unique=True),
    Column("conflicting_raw", LargeBinary, nullable=False),
    Column("recorded_at", Integer, nullable=False),
)

#: Peers met on the network (address book); names come from their profile events.
peers = Table(
    "peers",
    metadata,
    Column("id", LargeBinary(32), primary_key=True),
    Column("address", String(128)),
    Column("last_seen", Integer),
    Column("connected", Boolean, nullable=False, default=False),
)

#: Small facts about this data dir, e.g. the pid of the running peer.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# ---- projections: derived from events in the same transaction; rebuildable at any time ----

profiles = Table(
    "profiles",
    metadata,
    Column("author", LargeBinary(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("ts", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("room", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("reply_to", LargeBinary(32)),
    # A private message: ``text`` is empty and ``sealed`` holds the box for ``recipient``.
    Column("recipient", LargeBinary(32)),
    Column("sealed", LargeBinary),
    Index("ix_messages_room_order", "room", "ts", "author", "seq"),
)

#: Every revision of every problem; ``root`` is the first revision's id (the thread).
problems = Table(
    "problems",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("supersedes", LargeBinary(32)),
    Column("title", Text, nullable=False),
    Column("statement", Text, nullable=False),
    Column("examples", Text, nullable=False),  # JSON list of [input, output]
    Column("tags", Text, nullable=False),  # JSON list of strings
    Column("due", Integer),  # milliseconds since the epoch, UTC
    Index("ix_problems_root", "root", "seq"),
)

#: Every submission as its author sent it; ``problem`` may not have arrived yet.
submissions = Table(
    "submissions",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("problem", LargeBinary(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("language", String(32), nullable=False),
    Column("solution", Text, nullable=False),
    Column("checks", Text, nullable=False),  # JSON list of [passed, detail]
    Column("checks_passed", Integer, nullable=False),
    Column("checks_total", Integer, nullable=False),
    Index("ix_submissions_problem", "problem"),
    Index("ix_submissions_author_problem", "author", "problem", "attempt"),
)

#: Every revision of every piece of feedback; ``submission`` may not have arrived yet.
feedback = Table(
    "feedback",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("submission", LargeBinary(32), nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("supersedes", LargeBinary(32)),
    Column("verdict", String(16), nullable=False),
    Column("score", Integer),
    Column("comment", Text, nullable=False),
    Index("ix_feedback_submission", "submission"),
    Index("ix_feedback_root", "root", "seq"),
)

PROJECTION_TABLES = (profiles, messages, problems, submissions, feedback)
