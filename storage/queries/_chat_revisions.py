"""A chat message's revisions, and the announcements pinned on this peer (issue 19).

Everyone sees a message's newest revision (``storage.queries.iter_chat_log``); the earlier
ones stay in the logs, and are listed here for the message's author and the instructors only.
An announcement stays pinned until this data dir's person dismisses it (local state, never
synced) or its author deletes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select

from peer.errors import UsageError
from peer.log import decode_event
from storage.queries._announcers import announcers
from storage.queries._chat import ChatMessage, messages_by_id
from storage.schema import announcements, chat_revisions, dismissals, events

if TYPE_CHECKING:
    from storage._store import Store

#: At most this many announcements are pinned (the newest): a pin is for what is current.
MAX_PINNED = 20


@attrs.frozen
class Revision:
    """One version of a message: ``action`` is ``original``, ``edit`` or ``delete``; ``text``
    (clear) or ``sealed`` (a private message's box: open it as the message's) as it read."""

    id: bytes
    action: str
    ts: int
    text: str
    sealed: bytes | None


def message_revisions(store: Store, message_id: bytes, viewer: bytes) -> list[Revision]:
    """Every version of a message, oldest first, for ``viewer``: its author or an instructor
    (anyone else gets a UsageError saying so). Revisions that do not count (another author's,
    or an edit addressed to another recipient) are left out, as everywhere."""
    original = store.event_by_id(message_id)
    if original is None or original.kind != "chat":
        raise UsageError(f"no chat message has the id {message_id.hex()}")
    if viewer != original.author and viewer not in announcers(store):
        raise UsageError("only its author and the instructor see a message's earlier versions")
    rev = chat_revisions
    query = (
        select(events.c.raw)
        .join_from(rev, events, events.c.id == rev.c.event_id)
        .where(rev.c.target == message_id, rev.c.author == original.author)
        .order_by(rev.c.seq)
    )
    with store.read() as conn:
        later = [decode_event(raw) for (raw,) in conn.execute(query)]
    found = [_revision(original.id, "original", original.ts, original.body)]
    recipient = original.body.get("to")
    for event in later:
        if event.kind == "edit" and event.body.get("to") != recipient:
            continue
        found.append(_revision(event.id, event.kind, event.ts, event.body))
    return found


def _revision(event_id: bytes, action: str, ts: int, body: dict[str, Any]) -> Revision:
    return Revision(event_id, action, ts, body.get("text", ""), body.get("sealed"))


def pinned_announcements(store: Store) -> list[ChatMessage]:
    """The announcements pinned here, newest first: by an instructor on the roster now, not
    deleted, not dismissed on this data dir."""
    allowed = announcers(store)
    if not allowed:
        return []
    query = (
        select(announcements.c.event_id)
        .where(
            announcements.c.author.in_(allowed),
            announcements.c.event_id.not_in(select(dismissals.c.event_id)),
        )
        .order_by(announcements.c.ts.desc())
        .limit(MAX_PINNED)
    )
    with store.read() as conn:
        ids = [row[0] for row in conn.execute(query)]
    shown = [m for m in messages_by_id(store, ids) if m.announcement and not m.deleted]
    return sorted(shown, key=lambda m: m.key, reverse=True)
