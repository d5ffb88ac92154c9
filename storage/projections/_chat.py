"""Projectors of the class-readable kinds: profiles (latest wins) and chat (one row each)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from peer.log import Event
from storage.schema import profiles


def project_profile(conn: Connection, event: Event) -> None:
    row = conn.execute(
        select(profiles.c.ts, profiles.c.seq).where(profiles.c.author == event.author)
    ).first()
    values = {
        "name": event.body["name"],
        "role": event.body["role"],
        "ts": event.ts,
        "seq": event.seq,
    }
    if row is None:
        conn.execute(insert(profiles).values(author=event.author, **values))
    elif (event.ts, event.seq) > (row.ts, row.seq):
        conn.execute(update(profiles).where(profiles.c.author == event.author).values(**values))


INSERT_MESSAGE = (
    "INSERT INTO messages (event_id, author, seq, ts, room, text, reply_to, recipient, sealed) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def chat_row(event: Event) -> tuple[object, ...]:
    body = event.body
    return (
        event.id,
        event.author,
        event.seq,
        event.ts,
        body["room"],
        body.get("text", ""),
        body.get("reply_to"),
        body.get("to"),
        body.get("sealed"),
    )
