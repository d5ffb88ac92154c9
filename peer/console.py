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
        batch = await store.events_after(cursor, 500)
        if not batch:
            continue
        cursor = batch[-1].local_id
        names = await trio.to_thread.run_sync(store.store.names)
        for stored in batch:
            event = decode_event(stored.raw)
            announcer = _ANNOUNCERS.get(event.kind)
            line = announcer(event, name_of, membership) if announcer else None
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
