"""Projectors of the class-readable kinds: profiles (latest wins) and chat (one row each)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from peer.log import Event, hlc
from storage.schema import profiles


def project_profile(conn: Connection, event: Event) -> None:
    """Keep each author's newest profile (by ts, then seq): a profile is a claim, so the newest wins
    on every peer in the same way, whatever order they arrive in."""
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


def chat_row(event: Event, arrived_ms: int) -> tuple[object, ...]:
    """The message's row; its ``ts`` column is where it sorts (``hlc.arrival_order``: a
    stamp far in the future sorts at its arrival), the stamp itself stays in the event."""
    body = event.body
    ts = hlc.arrival_order(event.ts, arrived_ms)
    return (ts, event.author, event.seq, body["room"], body.get("to"))
