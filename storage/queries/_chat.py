"""Chat queries: pages of the history in the order every peer shows it, never all of it.

The ``messages`` table is that order, ``(ts, author, seq)``; a page is one keyset range scan
(``LIMIT`` after a key, never ``OFFSET``), and the text comes from the stored event itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from sqlalchemy import Select, and_, or_, select, tuple_

from peer.errors import UsageError
from peer.log import hlc, unpack
from storage._store import Store
from storage.schema import events, messages

#: An event's bytes end with its Ed25519 signature; the signed part is the msgpack list
#: ``[version, author, seq, prev, ts, kind, body]`` (``peer.log``), checked when stored.
_SIGNATURE_SIZE = 64
_BODY = 6
#: Rows read per transaction while streaming the whole history.
PAGE = 1000


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


#: Where a message sits in the chat order: a page starts after (or ends before) one.
Key = tuple[int, bytes, int]


def chat_log(
    store: Store,
    room: str | None = None,
    limit: int | None = None,
    *,
    before: bytes | None = None,
    since: int | None = None,
    reader: bytes | None = None,
) -> list[ChatMessage]:
    """Messages oldest first, ordered by (ts, author, seq): the same order on every peer.
    The arguments are those of :func:`iter_chat_log`; give a ``limit`` to bound the list."""
    return list(iter_chat_log(store, room, limit, before=before, since=since, reader=reader))


def iter_chat_log(
    store: Store,
    room: str | None = None,
    limit: int | None = None,
    *,
    before: bytes | None = None,
    since: int | None = None,
    reader: bytes | None = None,
) -> Iterator[ChatMessage]:
    """Messages oldest first, read a page at a time (memory stays bounded however long the
    history). ``limit``: only the newest ``limit`` of the selection. ``before``: only messages
    before the one with this id (UsageError if no chat message has it), e.g. the oldest one
    shown, to page back. ``since``: only messages with ts >= this HLC value. ``reader``: leave
    out private messages that this peer neither sent nor received (they stay sealed anyway).
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    end = None if before is None else message_key(store, before)
    names = store.names()  # the roster's names, never what a profile claims
    if limit is not None:
        with store.read() as conn:
            query = _select(room, since, reader, end=end, descending=True).limit(limit)
            page = [_to_message(row, names) for row in conn.execute(query)]
        yield from reversed(page)
        return
    start: Key | None = None
    while True:
        with store.read() as conn:
            query = _select(room, since, reader, start=start, end=end).limit(PAGE)
            page = [_to_message(row, names) for row in conn.execute(query)]
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1]
        start = (last.ts, last.author, last.seq)


def message_key(store: Store, message_id: bytes) -> Key:
    """The position of a chat message in the order; UsageError if it is not one held here."""
    query = select(events.c.author, events.c.seq, events.c.raw, events.c.received_at).where(
        events.c.id == message_id, events.c.kind == "chat"
    )
    with store.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise UsageError(f"no chat message has the id {message_id.hex()}")
    # Where the projection sorted it (``storage.projections.chat_row``).
    return (hlc.arrival_order(_fields(row.raw)[4], row.received_at), row.author, row.seq)


_ORDER = (messages.c.ts, messages.c.author, messages.c.seq)


def _select(
    room: str | None,
    since: int | None,
    reader: bytes | None,
    *,
    start: Key | None = None,
    end: Key | None = None,
    descending: bool = False,
) -> Select[Any]:
    query = (
        select(
            *_ORDER,
            messages.c.room,
            messages.c.recipient,
            events.c.id,
            events.c.raw,
        )
        .join_from(
            messages,
            events,
            and_(events.c.author == messages.c.author, events.c.seq == messages.c.seq),
        )
    )
    if room is not None:
        query = query.where(messages.c.room == room)
    if since is not None:
        query = query.where(messages.c.ts >= since)
    if reader is not None:
        query = query.where(
            or_(
                messages.c.recipient.is_(None),
                messages.c.author == reader,
                messages.c.recipient == reader,
            )
        )
    # The plain ts bound lets SQLite narrow the range scan; the tuple makes it exact.
    if start is not None:
        query = query.where(messages.c.ts >= start[0], tuple_(*_ORDER) > tuple_(*start))
    if end is not None:
        query = query.where(messages.c.ts <= end[0], tuple_(*_ORDER) < tuple_(*end))
    if descending:
        return query.order_by(*(c.desc() for c in _ORDER))
    return query.order_by(*_ORDER)


def _fields(raw: bytes) -> list[Any]:
    return unpack(raw[:-_SIGNATURE_SIZE], what="stored event")  # type: ignore[no-any-return]


def _to_message(row: Any, names: Mapping[bytes, str]) -> ChatMessage:
    body = _fields(row.raw)[_BODY]
    return ChatMessage(
        id=row.id,
        author=row.author,
        author_name=names.get(row.author),
        room=row.room,
        text=body.get("text", ""),
        ts=row.ts,
        seq=row.seq,
        reply_to=body.get("reply_to"),
        recipient=row.recipient,
        sealed=body.get("sealed"),
    )
