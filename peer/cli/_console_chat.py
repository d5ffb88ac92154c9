"""The console's chat lines (issue 19): arriving messages (a multi-line one indented below
its heading), announcements, edits and deletions, joiners waiting for the instructor, and the
private messages typed as ``/msg NAME TEXT`` and ``/reply TEXT``.

Announcers run in a worker thread (``peer.cli._console.announcements``), so they may query
the blocking store; what they return is printed by the console's printer, which shows every
control character inert and keeps only the line breaks these announcers put in.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from peer.cli._message_text import message_lines, short_message_id
from peer.cli._seen import Seen
from peer.cli._speech import _
from peer.errors import UsageError
from peer.identity import Membership, short_id
from peer.log import Event, unseal
from storage import Store
from storage.queries import (
    ChatMessage,
    last_private_sender,
    may_announce,
    messages_by_id,
    pending_duties,
    roster_entries,
)


def announce_chat(event: Event, seen: Seen) -> str | None:
    me = seen.me
    if event.author == me.peer_id:
        return None
    body = event.body
    who = seen.name_of(event.author)
    if "to" in body:
        if body["to"] != me.peer_id:
            return None  # someone else's private message: not even its existence is shown
        text = unseal(me.signing_key, event.author, body["to"], body["sealed"])
        return None if text is None else message_lines(_("[private] {who}: ", who=who), text)
    if body.get("announcement") is True and may_announce(seen.store, event.author):
        return message_lines(_("[announcement] {who}: ", who=who), body["text"])
    return message_lines(f"[{body['room']}] {who}: ", body["text"])


def announce_revision(event: Event, seen: Seen) -> str | None:
    """An ``edit`` or ``delete`` of a message this peer can read, by that message's author."""
    me = seen.me
    if event.author == me.peer_id:
        return None
    found = messages_by_id(seen.store, [event.body["target"]], reader=me.peer_id)
    if not found or found[0].author != event.author:
        return None  # not a message held here, or someone else's: it changes nothing
    message = found[0]
    where = _where(message)
    who = seen.name_of(event.author)
    mid = short_message_id(message.id)
    if event.kind == "delete":
        return _("{where} {who} deleted a message ({id})", where=where, who=who, id=mid)
    body = event.body
    if message.recipient is None:
        text = body.get("text")
    elif body.get("to") == message.recipient:
        text = unseal(me.signing_key, message.author, message.recipient, body["sealed"])
    else:
        text = None  # an edit addressed to someone else: it changes nothing
    if message.deleted or not message.edited or text is None or text != _current(message, me):
        return None  # not (or no longer) what the message reads
    return message_lines(_("{where} {who} edited ({id}): ", where=where, who=who, id=mid), text)


def _current(message: ChatMessage, me: Membership) -> str | None:
    """The text a message reads now, opened if it is private."""
    if message.recipient is None:
        return message.text
    if message.sealed is None:
        return None
    return unseal(me.signing_key, message.author, message.recipient, message.sealed)


def _where(message: ChatMessage) -> str:
    if message.recipient is not None:
        return _("[private]")
    return _("[announcement]") if message.announcement else f"[{message.room}]"


def announce_join(event: Event, seen: Seen) -> str | None:
    """For an instructor: a joiner the roster leaves pending (the class invite), with the
    command that admits it. Joiners with a valid one-student invite are admitted by the
    founder's peer on its own, so they are not told as waiting."""
    me = seen.me
    if event.author == me.peer_id or not may_announce(seen.store, me.peer_id):
        return None
    if seen.store.roster_state(event.author) != "pending":
        return None
    if any(d.body.get("peer") == event.author for d in pending_duties(seen.store)):
        return None
    return _waiting(event.body["name"], event.author)


def _waiting(name: str, peer_id: bytes) -> str:
    return _(
        "[class] {name} ({id}) is waiting: {command}",
        name=name,
        id=short_id(peer_id),
        command=f"peerclass admit {shlex.quote(name)}",
    )


def waiting_lines(store: Store, me: Membership) -> list[str]:
    """At start, for an instructor: everyone still pending (joined while this peer was off)."""
    if not may_announce(store, me.peer_id):
        return []
    entries = roster_entries(store, me.klass.instructor)
    admitting = {d.body.get("peer") for d in pending_duties(store)}  # a one-student invite's
    return [
        _waiting(e.name, e.peer_id)
        for e in entries
        if e.state == "pending" and e.peer_id not in admitting
    ]


# ---- private messages typed at the console -----------------------------------------------


#: How a typed name or id prefix becomes a peer id (``peer.cli._core.resolve_peer``, passed in
#: by the composition root so this module need not import it).
Resolver = Callable[[Store, str], bytes]


def private_recipient(
    store: Store, me: Membership, text: str, resolve: Resolver
) -> tuple[bytes, str]:
    """``NAME TEXT`` as (recipient, text). A name may have spaces (``Ms Kim hello``): the
    longest roster name the line starts with wins; otherwise the first word is a name or an
    id prefix."""
    names = store.names()
    folded = text.casefold()
    matches = sorted(
        (
            (len(label), peer)
            for peer, label in names.items()
            if label and folded.startswith(label.casefold() + " ") and peer != me.peer_id
        ),
        reverse=True,
    )
    if matches:
        length, peer = matches[0]
        return peer, text[length + 1 :].strip()
    word, _, rest = text.partition(" ")
    return resolve(store, word), rest.strip()


def reply_recipient(store: Store, me: Membership) -> bytes:
    """Whom ``/reply`` answers: the author of the newest private message received."""
    sender = last_private_sender(store, me.peer_id)
    if sender is None:
        raise UsageError(_("no private message to reply to yet; /msg NAME TEXT starts one"))
    return sender
