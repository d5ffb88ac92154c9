"""What chat adds to the projections beyond its ``messages`` row (issue 19): the search index
of every message's latest readable text, the list of announcements, and the revisions
(``edit``, ``delete``) of messages.

The search index (``chat_search``, FTS5 with the ``trigram`` tokenizer) holds only what this
store's identity can read: public messages, and private ones it sent or received (opened
here with its key). Each message's index row has a rowid derived from the message's id, so an
edit or a delete finds it without a lookup table, and a rebuild makes the same rows again.
Edits and deletes arrive after the message they name (it is earlier in the same author's
log), so the index follows them in order: an edit replaces the text, a delete removes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, insert

from peer.log import Event, unseal
from storage._reader import reader_of
from storage.projections._envelope import envelope
from storage.schema import CHAT_SEARCH, announcements, chat_revisions

_INSERT_TEXT = (
    f"INSERT INTO {CHAT_SEARCH} (rowid, text, room, author, ts, event_id, recipient) "
    f"SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM {CHAT_SEARCH} WHERE rowid = ?)"
)
_FIND = (
    f"SELECT text, room, author, ts, recipient FROM {CHAT_SEARCH} WHERE rowid = ? AND event_id = ?"
)
_DELETE = f"DELETE FROM {CHAT_SEARCH} WHERE rowid = ?"


def search_rowid(message_id: bytes) -> int:
    """The index row of a message: 63 bits of its id (a hash), so the same on every rebuild.
    Two ids sharing them is as likely as a 63-bit hash collision; the second message is then
    left out of the index (never an error: the insert checks first)."""
    return int.from_bytes(message_id[:8], "big") >> 1


def readable_text(conn: Connection, author: bytes, body: dict[str, object]) -> str | None:
    """The text of a chat or edit body as this store's identity reads it (None: sealed to
    someone else, or no identity)."""
    text = body.get("text")
    if isinstance(text, str):
        return text
    recipient, sealed = body.get("to"), body.get("sealed")
    reader = reader_of(conn)
    if reader is None or not isinstance(recipient, bytes) or not isinstance(sealed, bytes):
        return None
    return unseal(reader.signing_key, author, recipient, sealed)


def project_chat_text(conn: Connection, events: Sequence[Event]) -> None:
    """Index the text of newly stored chat ``events`` and list their announcements (called
    with a run at a time, after their ``messages`` rows)."""
    rows = []
    for event in events:
        text = readable_text(conn, event.author, event.body)
        if text is not None:
            rowid = search_rowid(event.id)
            body = event.body
            rows.append(
                (rowid, text, body["room"], event.author, event.ts, event.id, body.get("to"), rowid)
            )
    if rows:
        conn.exec_driver_sql(_INSERT_TEXT, rows)
    flagged = [envelope(e) for e in events if e.body.get("announcement") is True]
    if flagged:
        conn.execute(insert(announcements), flagged)


def project_revision(conn: Connection, event: Event) -> None:
    """An ``edit`` or ``delete``: recorded by the message it names, and applied to the search
    index when it is valid there (same author, same recipient)."""
    body = event.body
    target, recipient = body["target"], body.get("to")
    conn.execute(
        insert(chat_revisions).values(
            **envelope(event), target=target, action=event.kind, recipient=recipient
        )
    )
    rowid = search_rowid(target)
    found = conn.exec_driver_sql(_FIND, (rowid, target)).first()
    if found is None or found.author != event.author:
        return  # not indexed here (unreadable, deleted, not a chat) or not the author's own
    if event.kind == "delete":
        conn.exec_driver_sql(_DELETE, (rowid,))
        return
    if found.recipient != recipient:
        return  # an edit that would move a message to another reader: ignored everywhere
    text = readable_text(conn, event.author, body)
    conn.exec_driver_sql(_DELETE, (rowid,))
    if text is not None:
        conn.exec_driver_sql(
            _INSERT_TEXT,
            (rowid, text, found.room, found.author, found.ts, target, recipient, rowid),
        )


def clear_chat_text(conn: Connection) -> None:
    """Empty the search index (before a rebuild; the other tables are ordinary projections)."""
    conn.exec_driver_sql(f"DELETE FROM {CHAT_SEARCH}")
