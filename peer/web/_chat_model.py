"""What the chat pages show, read in bounded pages (``storage.queries`` keyset paging, never
the whole history): a conversation's newest page or the page before a message, unread counts
over a bounded window of the newest messages, pinned announcements, and what a notification
says. Every function blocks (SQLite): the app calls them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import urlencode

import attrs
from markupsafe import Markup

from peer.errors import UsageError
from peer.identity import Membership
from peer.log import hlc, unseal
from peer.web._markup import mentions, plain, render
from storage import Store
from storage.queries import (
    ChatMessage,
    chat_log,
    message_revisions,
    messages_by_id,
    pinned_announcements,
    roster_entries,
    search_chat,
)

DEFAULT_ROOM = "general"
#: Messages on the first page of a conversation (the newest).
PAGE = 50
#: Messages a scroll back loads at once (those before the oldest shown).
OLDER_PAGE = 200
#: Unread counts look at no more than this many of the newest messages (then show "N+").
UNREAD_WINDOW = 2000
#: The live tail of an open page never re-renders more than this many messages.
TAIL_LIMIT = 500
#: Consecutive messages by one author within this long are grouped under one header.
GROUP_MS = 5 * 60_000


@attrs.frozen
class Shown:
    """A chat message this viewer may read, with its text and how the page renders it."""

    message: ChatMessage
    text: str
    mine: bool
    html: Markup
    mentions_me: bool

    @property
    def edited(self) -> bool:
        return self.message.edited

    @property
    def deleted(self) -> bool:
        return self.message.deleted


@attrs.frozen
class RoomEntry:
    key: str  # a room name, or "@" + the other person's id in hex for a private conversation
    label: str
    unread: int


@attrs.frozen
class Person:
    id: bytes
    name: str
    role: str
    online: bool
    last_seen: int | None  # ms


@attrs.frozen
class ChatView:
    rooms: tuple[RoomEntry, ...]
    private: tuple[RoomEntry, ...]
    current: str
    title: str
    messages: tuple[Shown, ...]
    more_before: bool  # older messages exist (scrolling up loads them)
    people: tuple[Person, ...]
    names: tuple[str, ...]  # for @mention completion
    announcements: tuple[Shown, ...]
    newest_ts: int

    @property
    def query(self) -> str:
        return conversation_query(self.current)

    @property
    def back(self) -> str:
        return "/chat?" + self.query

    @property
    def oldest_id(self) -> str:
        return self.messages[0].message.id.hex() if self.messages else ""


@attrs.frozen
class Unread:
    per_conversation: dict[str, int]
    total: int
    capped: bool  # the window was full: there may be more


@attrs.frozen
class Alert:
    """Something a desktop notification tells: a private message, a mention, an announcement."""

    kind: str  # "private", "mention", "announcement"
    name: str
    text: str
    url: str
    ts: int


def conversation_query(key: str) -> str:
    if key.startswith("@"):
        return urlencode({"with": key[1:]})
    return urlencode({"room": key})


def conversation_key(m: ChatMessage, me: bytes) -> str:
    if m.recipient is None:
        return m.room
    other = m.recipient if m.author == me else m.author
    return "@" + other.hex()


def _text(m: ChatMessage, me: Membership) -> str | None:
    """The message's (newest) text for this viewer, or None if it cannot read it."""
    if m.deleted:
        return ""
    if m.recipient is None:
        return m.text
    if m.sealed is not None and me.peer_id in (m.author, m.recipient):
        return unseal(me.signing_key, m.author, m.recipient, m.sealed)
    return None


def shown(
    messages: Iterable[ChatMessage], me: Membership, names: Iterable[str], my_name: str
) -> Iterator[Shown]:
    """The readable ones, rendered (Markdown, highlighted code, mentions)."""
    names = tuple(names)
    for m in messages:
        text = _text(m, me)
        if text is None:
            continue
        mine = m.author == me.peer_id
        yield Shown(
            m,
            text,
            mine,
            render(text, names, my_name),
            not mine and mentions(text, my_name),
        )


def roster_names(store: Store, me: Membership) -> tuple[str, ...]:
    return tuple(
        sorted(
            {e.name for e in roster_entries(store, me.klass.instructor) if e.state == "member"},
            key=str.casefold,
        )
    )


def people(store: Store, me: Membership, online: set[bytes]) -> list[Person]:
    """Everyone known: online now (a live session), and when each was last seen."""
    names = store.names()
    records = {r.id: r for r in store.peer_records()}
    ids = (set(names) | set(records)) - {me.peer_id}
    result = []
    for pid in ids:
        record = records.get(pid)
        result.append(
            Person(
                pid,
                names.label(pid),  # the roster's name and mark (storage.Name)
                names.of(pid).badge or "student",  # the roster's role, never a claim
                pid in online,
                None if record is None else record.last_seen,
            )
        )
    return sorted(result, key=lambda p: (not p.online, p.name.casefold(), p.id))


def page(
    store: Store, me: Membership, current: str, *, before: bytes | None = None, limit: int = PAGE
) -> tuple[list[ChatMessage], bool]:
    """A page of the conversation ``current`` (the newest, or those before ``before``),
    oldest first, and whether older ones exist. One keyset range scan (one row more than the
    page tells whether there is more)."""
    if current.startswith("@"):
        rows = chat_log(
            store,
            limit=limit + 1,
            before=before,
            reader=me.peer_id,
            conversation=bytes.fromhex(current[1:]),
        )
    else:
        rows = chat_log(store, current, limit + 1, before=before, reader=me.peer_id)
        rows = [m for m in rows if m.recipient is None]
    more = len(rows) > limit
    return (rows[1:] if more else rows), more


def tail(
    store: Store, me: Membership, current: str, start: bytes | None
) -> tuple[list[ChatMessage], bool]:
    """The live tail of an open page: the messages from ``start`` (the oldest the page's tail
    shows) to the newest, at most :data:`TAIL_LIMIT`; the newest page without ``start``."""
    if start is None:
        return page(store, me, current)
    newest, more = page(store, me, current, limit=TAIL_LIMIT)
    ids = [m.id for m in newest]
    if start in ids:
        return newest[ids.index(start) :], True
    return newest, more


def unread(store: Store, me: Membership, marks: Mapping[str, int]) -> Unread:
    """Unread messages per conversation (newer than its read mark, not one's own), over the
    newest :data:`UNREAD_WINDOW` messages at most."""
    floor = min(marks.values(), default=0)
    window = chat_log(store, limit=UNREAD_WINDOW, since=floor + 1, reader=me.peer_id)
    counts: dict[str, int] = {}
    for m in window:
        if m.author == me.peer_id or m.deleted:
            continue
        if m.recipient is not None and me.peer_id != m.recipient:
            continue
        key = conversation_key(m, me.peer_id)
        if m.ts > marks.get(key, 0):
            counts[key] = counts.get(key, 0) + 1
    return Unread(counts, sum(counts.values()), len(window) >= UNREAD_WINDOW)


def announcements(
    store: Store, me: Membership, names: Iterable[str], my_name: str
) -> tuple[Shown, ...]:
    """The announcements pinned here (not dismissed on this data dir), newest first."""
    return tuple(shown(pinned_announcements(store), me, names, my_name))


def chat_view(
    store: Store,
    me: Membership,
    current: str,
    read_marks: Mapping[str, int],
    online: set[bytes],
    *,
    my_name: str = "",
    before: bytes | None = None,
    start: bytes | None = None,
) -> ChatView:
    roster = store.names()
    names = roster_names(store, me)
    counts = unread(store, me, read_marks).per_conversation
    rooms: dict[str, int] = {DEFAULT_ROOM: 0}
    private: dict[str, int] = {}
    for key in [current, *read_marks, *counts]:
        (private if key.startswith("@") else rooms).setdefault(key, 0)
    for key, n in counts.items():
        if key != current:
            (private if key.startswith("@") else rooms)[key] = n
    if before is not None:
        rows, more = page(store, me, current, before=before)
    else:
        rows, more = tail(store, me, current, start)
    here = tuple(shown(rows, me, names, my_name))

    def label(key: str) -> str:
        if not key.startswith("@"):
            return "#" + key
        return roster.get(bytes.fromhex(key[1:])) or key[1:9]

    return ChatView(
        rooms=tuple(RoomEntry(k, label(k), n) for k, n in sorted(rooms.items())),
        private=tuple(
            RoomEntry(k, label(k), n)
            for k, n in sorted(private.items(), key=lambda kv: label(kv[0]).casefold())
        ),
        current=current,
        title=label(current),
        messages=here,
        more_before=more,
        people=tuple(people(store, me, online)),
        names=names,
        announcements=announcements(store, me, names, my_name),
        newest_ts=max((s.message.ts for s in here), default=0),
    )


@attrs.frozen
class OlderView:
    """A page of older messages for a scroll back: only what the fragment shows."""

    current: str
    messages: tuple[Shown, ...]
    more_before: bool

    @property
    def back(self) -> str:
        return "/chat?" + conversation_query(self.current)

    @property
    def oldest_id(self) -> str:
        return self.messages[0].message.id.hex() if self.messages else ""


def older_view(
    store: Store, me: Membership, current: str, before: bytes, my_name: str
) -> OlderView:
    """The :data:`OLDER_PAGE` messages before ``before``: one keyset range scan."""
    rows, more = page(store, me, current, before=before, limit=OLDER_PAGE)
    return OlderView(current, tuple(shown(rows, me, roster_names(store, me), my_name)), more)


def alerts(store: Store, me: Membership, my_name: str, after: int) -> tuple[list[Alert], int]:
    """What to notify of since ``after`` (an HLC ts): private messages to this viewer,
    mentions of them, announcements; and the newest ts seen (the next ``after``)."""
    window = chat_log(store, limit=200, since=after + 1, reader=me.peer_id)
    roster = store.names()
    found = []
    newest = after
    for m in window:
        newest = max(newest, m.ts)
        if m.author == me.peer_id or m.deleted:
            continue
        text = _text(m, me)
        if text is None:
            continue
        name = roster.get(m.author) or m.author_name or m.author.hex()[:8]
        key = conversation_key(m, me.peer_id)
        url = "/chat?" + conversation_query(key)
        if m.announcement:
            found.append(Alert("announcement", name, plain(text), url, m.ts))
        elif m.recipient == me.peer_id:
            found.append(Alert("private", name, plain(text), url, m.ts))
        elif mentions(text, my_name):
            found.append(Alert("mention", name, plain(text), url, m.ts))
    return found, newest


@attrs.frozen
class Hit:
    """A message found by search: where it is and a link to its conversation."""

    message: ChatMessage
    html: Markup
    where: str
    url: str


def search(store: Store, me: Membership, text: str, my_name: str) -> list[Hit]:
    """Messages holding every word of ``text`` (FTS5, Korean included), newest first."""
    roster = store.names()
    names = roster_names(store, me)
    found = search_chat(store, text, limit=100, reader=me.peer_id)
    hits = []
    for s in shown(found, me, names, my_name):
        key = conversation_key(s.message, me.peer_id)
        where = "#" + key if not key.startswith("@") else roster.get(s.message.author, "")
        if key.startswith("@"):
            other = bytes.fromhex(key[1:])
            where = "@" + (roster.get(other) or key[1:9])
        url = "/chat?" + conversation_query(key) + f"#m-{s.message.id.hex()}"
        hits.append(Hit(s.message, s.html, where, url))
    return hits


def now_ts() -> int:
    return hlc.from_ms(hlc.wall_ms())


def shown_by_id(store: Store, me: Membership, message_id: bytes, my_name: str) -> Shown | None:
    found = messages_by_id(store, [message_id], reader=me.peer_id)
    rendered = list(shown(found, me, roster_names(store, me), my_name))
    return rendered[0] if rendered else None


@attrs.frozen
class Version:
    action: str  # "original", "edit", "delete"
    ts: int
    text: str


def versions(store: Store, me: Membership, message: ChatMessage) -> tuple[Version, ...]:
    """A message's earlier versions, for its author and the instructors (empty for others)."""
    try:
        found = message_revisions(store, message.id, me.peer_id)
    except UsageError:
        return ()
    result = []
    for r in found:
        text = r.text
        if r.sealed is not None and message.recipient is not None:
            text = unseal(me.signing_key, message.author, message.recipient, r.sealed) or ""
        result.append(Version(r.action, r.ts, text))
    return tuple(result)


def by_ids(store: Store, me: Membership, ids: Iterable[bytes]) -> list[ChatMessage]:
    return messages_by_id(store, ids, reader=me.peer_id)
