"""What a person running ``peerclass run`` sees and types: arriving chat, lines sent as chat."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import trio

from peer.async_store import AsyncStore
from peer.errors import PeerclassError
from peer.events import Event, decode_event
from peer.identity import Membership, short_id
from peer.kinds import check_room

log = logging.getLogger("peerclass.console")

Announcer = Callable[[Event, Callable[[bytes], str], Membership], str | None]
_ANNOUNCERS: dict[str, Announcer] = {}


def register_announcer(kind: str, announcer: Announcer) -> None:
    """Have ``run`` print a line (or nothing, if it returns None) for events of ``kind``."""
    _ANNOUNCERS[kind] = announcer


def _announce_chat(event: Event, name_of: Callable[[bytes], str], me: Membership) -> str | None:
    if event.author == me.peer_id or "text" not in event.body:
        return None
    return f"[{event.body['room']}] {name_of(event.author)}: {event.body['text']}"


register_announcer("chat", _announce_chat)


#: A batch with more chat than this is a catch-up: summarise instead of scrolling it all past.
MAX_CHAT_LINES = 10


async def follow_events(
    store: AsyncStore, membership: Membership, announce: Callable[[str], None]
) -> None:
    """Print a line for each newly stored event worth telling the user about."""
    cursor = store.watch.max_local_id
    names: dict[bytes, str] = {}

    def name_of(author: bytes) -> str:
        return f"{names.get(author, '?')} ({short_id(author)})"

    while True:
        await store.watch.wait_beyond(cursor)
        batch = await store.refs_after(cursor, 1000)
        if not batch:
            continue
        cursor = batch[-1].local_id
        chat = [r for r in batch if r.kind == "chat" and r.author != membership.peer_id]
        if len(chat) > MAX_CHAT_LINES:
            announce(
                f"({len(chat)} messages arrived while catching up; 'peerclass chat log' "
                "shows them all; the latest follow)"
            )
            skip = {r.local_id for r in chat[:-3]}
            batch = [r for r in batch if r.local_id not in skip]
        batch = [r for r in batch if r.kind in _ANNOUNCERS]
        if not batch:
            continue
        names = await trio.to_thread.run_sync(store.store.names)
        for raw in await store.raws([r.local_id for r in batch]):
            event = decode_event(raw)
            line = _ANNOUNCERS[event.kind](event, name_of, membership)
            if line is not None:
                announce(line)


async def read_terminal(store: AsyncStore, membership: Membership, room: str) -> None:
    """Send each typed line as chat; ``/room NAME`` switches rooms."""
    print(f"type a message and press Enter to send it to #{room}; /room NAME switches rooms")
    while True:
        line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        if not line:
            return  # end of input: keep running, stop reading
        text = line.strip()
        if not text:
            continue
        try:
            if text.startswith("/room "):
                room = check_room(text.removeprefix("/room ").strip())
                print(f"now in #{room}")
                continue
            await store.append(membership.signing_key, "chat", {"room": room, "text": text})
        except PeerclassError as exc:
            print(f"not sent: {exc}")
