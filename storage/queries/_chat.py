"""Chat queries over the messages projection."""

from __future__ import annotations

import attrs
from sqlalchemy import select

from storage._store import Store
from storage.schema import messages, profiles


@attrs.frozen
class ChatMessage:
    id: bytes
    author: bytes
    author_name: str | None
    room: str
    text: str
    ts: int
    seq: int
    reply_to: bytes | None
    recipient: bytes | None
    sealed: bytes | None


def chat_log(store: Store, room: str | None = None, limit: int | None = None) -> list[ChatMessage]:
    """Messages oldest first, ordered by (ts, author, seq): the same order on every peer."""
    query = select(
        messages.c.event_id,
        messages.c.author,
        profiles.c.name,
        messages.c.room,
        messages.c.text,
        messages.c.ts,
        messages.c.seq,
        messages.c.reply_to,
        messages.c.recipient,
        messages.c.sealed,
    ).join_from(messages, profiles, profiles.c.author == messages.c.author, isouter=True)
    if room is not None:
        query = query.where(messages.c.room == room)
    query = query.order_by(messages.c.ts, messages.c.author, messages.c.seq)
    with store.read() as conn:
        rows = [ChatMessage(*row) for row in conn.execute(query)]
    return rows if limit is None else rows[-limit:]
