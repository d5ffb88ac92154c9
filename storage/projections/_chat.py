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


#: Only what orders and filters the chat: the text, reply and sealed box are read from the
#: event itself (``storage.queries._chat``), so they are not stored twice.
INSERT_MESSAGE = "INSERT INTO messages (ts, author, seq, room, recipient) VALUES (?, ?, ?, ?, ?)"


def chat_row(event: Event) -> tuple[object, ...]:
    body = event.body
    return (event.ts, event.author, event.seq, body["room"], body.get("to"))
