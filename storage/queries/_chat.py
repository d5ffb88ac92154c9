"""Chat queries: pages of the history in the order every peer shows it, never all of it.

The ``messages`` table is that order, ``(ts, author, seq)``; a page is one keyset range scan
(``LIMIT`` after a key, never ``OFFSET``), and the text comes from the stored event itself.
A message shows its latest revision (issue 19): the text of its author's newest ``edit`` of it
(sealed to the same recipient, for a private one), or nothing once its author deleted it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

import attrs
from sqlalchemy import Select, and_, exists, or_, select, tuple_

from peer.errors import UsageError
from peer.log import hlc, unpack
from storage._names import ClassNames
from storage._store import Store
from storage.queries._announcers import announcers
from storage.schema import chat_revisions, events, messages

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
    #: Its author edited it (``text``/``sealed`` are the newest revision's).
    edited: bool = False
    #: Its author deleted it: ``text`` is empty and ``sealed`` None; the revisions stay in
    #: the logs for the author and the instructor (:func:`storage.queries.message_revisions`).
    deleted: bool = False
    #: An announcement by an instructor on the roster (pinned until dismissed).
    announcement: bool = False
    #: The author's role badge from the roster (``instructor``, ``ta``), None for a student
    #: and for anyone not a member (``storage.Name.badge``).
    author_badge: str | None = None

    @property
    def key(self) -> tuple[int, bytes, int]:
        """Its place in the chat order, as a page's ``after``/``before`` bound."""
        return (self.ts, self.author, self.seq)


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
    conversation: bytes | None = None,
) -> list[ChatMessage]:
    """Messages oldest first, ordered by (ts, author, seq): the same order on every peer.
    The arguments are those of :func:`iter_chat_log`; give a ``limit`` to bound the list."""
    found = iter_chat_log(
        store, room, limit, before=before, since=since, reader=reader, conversation=conversation
    )
    return list(found)


def iter_chat_log(
    store: Store,
    room: str | None = None,
    limit: int | None = None,
    *,
    before: bytes | None = None,
    since: int | None = None,
    reader: bytes | None = None,
    conversation: bytes | None = None,
) -> Iterator[ChatMessage]:
    """Messages oldest first, read a page at a time (memory stays bounded however long the
    history). ``limit``: only the newest ``limit`` of the selection. ``before``: only messages
    before the one with this id (UsageError if no chat message has it), e.g. the oldest one
    shown, to page back. ``since``: only messages with ts >= this HLC value. ``reader``: leave
    out private messages that this peer neither sent nor received (they stay sealed anyway).
    ``conversation``: only the private messages between ``reader`` and this peer (``room``
    is then ignored). Scrolling back through a room or a conversation is ``limit`` with
    ``before`` set to the oldest message shown: one short range scan per page.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    if conversation is not None and reader is None:
        raise ValueError("a conversation is between a reader and another peer")
    where = _Where(room, since, reader, conversation)
    shown = announcers(store)
    end = None if before is None else message_key(store, before)
    names = store.names()  # the roster's names, never what a profile claims
    if limit is not None:
        with store.read() as conn:
            query = _select(where, end=end, descending=True).limit(limit)
            page = [_to_message(row, names, shown) for row in conn.execute(query)]
        yield from reversed(page)
        return
    start: Key | None = None
    while True:
        with store.read() as conn:
            query = _select(where, start=start, end=end).limit(PAGE)
            page = [_to_message(row, names, shown) for row in conn.execute(query)]
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1]
        start = (last.ts, last.author, last.seq)


def messages_by_id(
    store: Store, message_ids: Iterable[bytes], *, reader: bytes | None = None
) -> list[ChatMessage]:
    """The chat messages with these ids that are held here (others are left out), in the
    chat order, each as its newest revision reads; ``reader`` as for :func:`iter_chat_log`."""
    keys = []
    for message_id in dict.fromkeys(message_ids):
        try:
            keys.append(message_key(store, message_id))
        except UsageError:
            continue
    if not keys:
        return []
    shown, names = announcers(store), store.names()
    where = _Where(None, None, reader, keys=tuple(keys))
    with store.read() as conn:
        return [_to_message(row, names, shown) for row in conn.execute(_select(where))]


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


@attrs.frozen
class _Where:
    """Which messages a listing holds (the arguments of :func:`iter_chat_log`)."""

    room: str | None
    since: int | None
    reader: bytes | None
    conversation: bytes | None = None
    keys: tuple[Key, ...] | None = None  # only these messages


def _revised() -> tuple[Any, Any]:
    """The newest valid edit's raw event and whether the message was deleted, as columns of
    a message row: an edit counts when its author wrote the message and it keeps the
    message's recipient (so a private message never becomes public, or someone else's)."""
    rev = chat_revisions
    mine = and_(rev.c.target == events.c.id, rev.c.author == messages.c.author)
    edit_raw = (
        select(_REVISED.c.raw)
        .join_from(rev, _REVISED, _REVISED.c.id == rev.c.event_id)
        .where(mine, rev.c.action == "edit", rev.c.recipient.op("IS")(messages.c.recipient))
        .order_by(rev.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    deleted = exists().where(mine, rev.c.action == "delete")
    return edit_raw.label("edit_raw"), deleted.label("deleted")


_REVISED = events.alias("revised")


def _select(
    where: _Where,
    *,
    start: Key | None = None,
    end: Key | None = None,
    descending: bool = False,
) -> Select[Any]:
    query = select(
        *_ORDER,
        messages.c.room,
        messages.c.recipient,
        events.c.id,
        events.c.raw,
        *_revised(),
    ).join_from(
        messages,
        events,
        and_(events.c.author == messages.c.author, events.c.seq == messages.c.seq),
    )
    room, since, reader = where.room, where.since, where.reader
    if where.conversation is not None:
        them = where.conversation
        query = query.where(
            or_(
                and_(messages.c.recipient == them, messages.c.author == reader),
                and_(messages.c.recipient == reader, messages.c.author == them),
            )
        )
    elif room is not None:
        query = query.where(messages.c.room == room)
    if where.keys is not None:
        # One primary-key lookup per message (a row-value IN would scan the table).
        query = query.where(
            or_(*(and_(*(c == v for c, v in zip(_ORDER, k, strict=True))) for k in where.keys))
        )
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


def _to_message(row: Any, names: ClassNames, shown: Collection[bytes]) -> ChatMessage:
    """A message row as its newest revision reads; ``shown``: who may announce."""
    body = _fields(row.raw)[_BODY]
    latest = body if row.edit_raw is None else _fields(row.edit_raw)[_BODY]
    return ChatMessage(
        id=row.id,
        author=row.author,
        author_name=names.label(row.author),
        author_badge=names.of(row.author).badge,
        room=row.room,
        text="" if row.deleted else latest.get("text", ""),
        ts=row.ts,
        seq=row.seq,
        reply_to=body.get("reply_to"),
        recipient=row.recipient,
        sealed=None if row.deleted else latest.get("sealed"),
        edited=row.edit_raw is not None,
        deleted=bool(row.deleted),
        announcement=body.get("announcement") is True and row.author in shown,
    )
