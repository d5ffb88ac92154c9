"""Table definitions. Alembic migrations create them; queries use these objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
#: the gossip uses as a cursor (within one author it is also seq order). Only what is looked
#: up or filtered on is a column; the rest (``prev``, ``ts``, the body) is read from ``raw``.
events = Table(
    "events",
    metadata,
    Column("local_id", Integer, primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("id", LargeBinary(32), nullable=False, unique=True),
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

#: Chat in the order every peer shows it: the table is that order (no rowid), so reading the
#: newest page is one short range scan. The text, reply and sealed box stay in the event's
#: ``raw`` (joined on ``author, seq``); ``recipient`` is here to leave out others' private
#: messages before they are read.
messages = Table(
    "messages",
    metadata,
    Column("ts", Integer, nullable=False),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("room", String(64), nullable=False),
    Column("recipient", LargeBinary(32)),
    PrimaryKeyConstraint("ts", "author", "seq", name="pk_messages"),
    Index("ix_messages_room_order", "room", "ts", "author", "seq"),
    # Pages of one private conversation (issue 19); most messages are public, so it is small.
    Index(
        "ix_messages_private",
        "recipient",
        "ts",
        "author",
        "seq",
        sqlite_where=text("recipient IS NOT NULL"),
    ),
    sqlite_with_rowid=False,
)

#: Every ``edit`` and ``delete`` of a chat message (issue 19), by the message it names
#: (``target``). Nothing is changed in place: queries take the latest edit whose author wrote
#: the message and whose ``recipient`` is the message's, and a message with a delete is shown
#: deleted.
chat_revisions = Table(
    "chat_revisions",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("target", LargeBinary(32), nullable=False),
    Column("action", String(16), nullable=False),  # "edit" or "delete"
    Column("recipient", LargeBinary(32)),  # an edit of a private message is sealed to it
    Index("ix_chat_revisions_target", "target", "author", "action", "seq"),
)

#: Chat messages flagged as announcements; whether the author may announce (an instructor on
#: the roster) is decided when querying, since the roster is other authors' events.
announcements = Table(
    "announcements",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Index("ix_announcements_ts", "ts"),
)

#: Announcements this data dir's person dismissed: local, never synced, not a projection.
dismissals = Table(
    "dismissals",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("dismissed_at", Integer, nullable=False),
)

#: The FTS5 index of the latest readable text of each message (migration 0008 makes it; the
#: metadata cannot describe a virtual table, so the schema comparison leaves these out).
CHAT_SEARCH = "chat_search"
VIRTUAL_TABLES = (CHAT_SEARCH,)


def in_metadata(name: str | None, type_: str, _parents: object) -> bool:
    """Whether Alembic should compare an object with ``metadata``: not the virtual tables nor
    their shadow tables (``chat_search_data`` ...), which the metadata cannot describe."""
    return type_ != "table" or not any(
        name == v or (name or "").startswith(f"{v}_") for v in VIRTUAL_TABLES
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
    Column("languages", Text, nullable=False, server_default='["python"]'),  # JSON list
    Column("late_policy", String(16), nullable=False, server_default="mark"),
    # "peers": classmates who submitted may read the submissions (issue 10).
    Column("review", String(16), nullable=False, server_default="instructor"),
    # Issue 18: what a student sees of a failed hidden test, and how many attempts are graded
    # (NULL: every one).
    Column("hidden_detail", String(16), nullable=False, server_default="names"),
    Column("graded_attempts", Integer),
    # Issue 20: points of 100 off per started day late, the most taken off, and the rubric
    # (JSON, ``peer.log.Rubric``).
    Column("late_penalty", Integer, nullable=False, server_default="0"),
    Column("late_cap", Integer, nullable=False, server_default="100"),
    Column("rubric", Text),
    Index("ix_problems_root", "root", "seq"),
)


def _sealed_columns() -> list[Column[Any]]:
    """Whether the body was sealed, whether this identity could read it, and whether what it
    read broke the schema (such a row keeps the visible fields only)."""
    return [
        Column("sealed", Boolean, nullable=False, server_default="0"),
        Column("readable", Boolean, nullable=False, server_default="1"),
        Column("invalid", Boolean, nullable=False, server_default="0"),
        # The sealed envelope while this identity cannot read it: a share that arrives later
        # (even in the same batch, before the event is in ``events``) opens it from here.
        Column("envelope", LargeBinary),
    ]


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
    # The sealed part: NULL where this peer's identity cannot read it (issue 10).
    Column("language", String(32)),
    Column("solution", Text),
    Column("checks", Text),  # JSON list of [passed, detail]
    Column("checks_passed", Integer),
    Column("checks_total", Integer),
    *_sealed_columns(),
    Index("ix_submissions_problem", "problem"),
    Index("ix_submissions_author_problem", "author", "problem", "attempt"),
    Index("ix_submissions_order", "ts", "author", "seq"),  # pages of ``submissions``
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
    # The sealed part: NULL where this peer's identity cannot read it (issue 10).
    Column("verdict", String(16)),
    Column("score", Integer),
    Column("comment", Text),
    # Issue 20 (sealed too): the hash of the test folder a grade came from, the tests'
    # score before any rubric, and the rubric points given (JSON criterion -> points).
    Column("tests_hash", String(64)),
    Column("tests_score", Integer),
    Column("rubric", Text),
    *_sealed_columns(),
    Index("ix_feedback_submission", "submission"),
    Index("ix_feedback_root", "root", "seq"),
    Index("ix_feedback_order", "ts", "author", "seq"),  # pages of ``feedback list``
)

#: Every ``extension`` (issue 20): a student's own due date on a problem thread, sealed to
#: them and the instructors; only instructors' count (queries decide, by author).
extensions = Table(
    "extensions",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("problem", LargeBinary(32), nullable=False),
    # The sealed part: NULL where this identity cannot read it.
    Column("student", LargeBinary(32)),
    Column("due", Integer),  # milliseconds since the epoch, UTC
    *_sealed_columns(),
    Index("ix_extensions_problem", "problem", "student"),
)

# ---- membership and sealing (issue 10) ------------------------------------------------------

#: Every ``roster`` event; only the instructor's count (queries decide, by author).
roster = Table(
    "roster",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("peer", LargeBinary(32), nullable=False),
    Column("name", Text),
    Column("role", String(16)),
    Column("invite", LargeBinary(16)),
    # The entry on ``peer`` its author held as current (issue 22: several instructors).
    Column("after", LargeBinary(32)),
    # An admit's earlier identity of the same person (issue 22: a lost key).
    Column("replaces", LargeBinary(32)),
    # A removal's pin (issue 18): the removed author's events past this seq are ignored.
    Column("until_seq", Integer),
    Column("reason", Text),
    Index("ix_roster_peer", "peer", "author", "seq"),
)

#: Every ``join``; ``token_hash`` only where this identity (the instructor) opened the token.
joins = Table(
    "joins",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("token_hash", LargeBinary(16)),
)

#: Every ``share``: ``author`` gave ``recipient`` the content key of ``target``.
shares = Table(
    "shares",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("ts", Integer, nullable=False),
    Column("target", LargeBinary(32), nullable=False),
    Column("recipient", LargeBinary(32), nullable=False),
    Index("ix_shares_target", "target", "recipient"),
)

#: The content keys this identity holds (opened from an envelope or a share it received).
content_keys = Table(
    "content_keys",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("key", LargeBinary(32), nullable=False),
)

#: One-student invites this (instructor's) peer made: local, never synced, not a projection.
invites = Table(
    "invites",
    metadata,
    Column("token_hash", LargeBinary(16), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", Integer, nullable=False),
)

# ---- witnessed time (issue 18) --------------------------------------------------------------

#: Every ``checkpoint``: its author (the witness) held ``checkpoint_heads`` at ``time`` (ms).
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("time", Integer, nullable=False),
    Index("ix_checkpoints_author", "author", "seq"),
)

#: One row per head a checkpoint names: ``witness`` held ``author`` up to ``seq`` (``head``).
checkpoint_heads = Table(
    "checkpoint_heads",
    metadata,
    Column("checkpoint", LargeBinary(32), nullable=False),
    Column("witness", LargeBinary(32), nullable=False),
    Column("witness_seq", Integer, nullable=False),
    Column("time", Integer, nullable=False),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("head", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("checkpoint", "author", name="pk_checkpoint_heads"),
    Index("ix_checkpoint_heads_author", "author", "seq"),
    Index("ix_checkpoint_heads_witness", "witness", "author", "witness_seq"),
)

#: Every ``settings`` event; the instructor's newest decides (queries pick it).
class_settings = Table(
    "class_settings",
    metadata,
    Column("event_id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Integer, nullable=False),
    Column("witnesses", String(16), nullable=False),
    Column("skew_ms", Integer, nullable=False),
)

PROJECTION_TABLES = (
    profiles,
    messages,
    chat_revisions,
    announcements,
    problems,
    submissions,
    feedback,
    extensions,
    roster,
    joins,
    shares,
    content_keys,
    checkpoints,
    checkpoint_heads,
    class_settings,
)
