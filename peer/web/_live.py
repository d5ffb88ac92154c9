"""Live updates: one follower task watches the store cursor (the one gossip uses) and the
network, and every open page hears about changes over Server-Sent Events.

The follower publishes a version number and the sync status; a page's script then fetches the
page again and swaps its live regions, so what is shown is always what the server renders.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import attrs
import trio

from peer.i18n import Translator, format_number, translator
from peer.log import hlc
from peer.web._board import board_signature
from storage import AsyncStore

#: Publish at most this often while events pour in (a catch-up of 50,000 events).
THROTTLE = 0.3
#: Look at the network this often even when no event arrives (connections come and go).
POLL = 1.0
#: A ping this often: a page that hears nothing for a little longer knows its peer is gone
#: (even when the connection is not closed, e.g. the peer is stopped with SIGSTOP).
HEARTBEAT = 1.0
#: Told to every page: a page that sees another run's id catches up (the version restarts).
RUN_ID = secrets.token_hex(8)


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


class Network(Protocol):
    """What the UI needs to know of the running node (a seam: tests pass a fake)."""

    def connected(self) -> set[bytes]: ...

    def remote_heads(self) -> dict[bytes, int]: ...


@attrs.frozen
class Offline:
    """No network (the app on its own, in unit tests)."""

    def connected(self) -> set[bytes]:
        return set()

    def remote_heads(self) -> dict[bytes, int]:
        return {}


@attrs.frozen
class SyncStatus:
    connected: int = 0
    last_sync_ms: int | None = None
    receiving: int = 0  # events received in the current catch-up
    expected: int = 0  # events the current catch-up will bring (0: not catching up)

    def to_json(self, t: Translator | None = None) -> dict[str, object]:
        return {
            "connected": self.connected,
            "last_sync": hlc.iso_from_ms(self.last_sync_ms),
            "receiving": self.receiving,
            "expected": self.expected,
            "text": self.text_in(t or translator("en")),
        }

    @property
    def text(self) -> str:
        return self.text_in(translator("en"))

    def text_in(self, t: Translator) -> str:
        """What the page's status line says, in the page's language."""
        if self.expected:
            return t(
                N_("receiving {done} of {total} events"),
                done=format_number(self.receiving, t.locale),
                total=format_number(self.expected, t.locale),
            )
        if not self.connected:
            return t(N_("no peers connected"))
        if self.connected == 1:
            return t(N_("connected to 1 peer"))
        return t(N_("connected to {n} peers"), n=self.connected)


@attrs.define(eq=False)
class Live:
    """The latest state, and a way for many listeners to wait for the next one."""

    version: int = 0
    sync: SyncStatus = attrs.field(factory=SyncStatus)
    _changed: trio.Event = attrs.field(factory=trio.Event)

    def publish(self, sync: SyncStatus, *, content: bool) -> None:
        if not content and sync == self.sync:
            return
        self.sync = sync
        self.version += 1
        self._changed.set()
        self._changed = trio.Event()

    async def wait_past(self, version: int) -> None:
        while self.version <= version:
            await self._changed.wait()


def behind(local: dict[bytes, int], remote: dict[bytes, int]) -> int:
    """Events the connected peers hold that this store lacks."""
    return sum(max(0, seq - local.get(author, 0)) for author, seq in remote.items())


async def follow(store: AsyncStore, network: Network, live: Live) -> None:
    """Publish a new version whenever events are stored or the network changes; runs until
    cancelled."""
    cursor = store.watch.max_local_id
    start_behind = 0
    last_sync: int | None = None
    last_board: tuple[object, ...] = ()
    while True:
        with trio.move_on_after(POLL):
            await store.watch.wait_beyond(cursor)
        advanced = store.watch.max_local_id > cursor
        cursor = store.watch.max_local_id
        connected = network.connected()
        remote = network.remote_heads()
        missing = behind(await store.heads(), remote) if remote else 0
        if connected and (advanced or last_sync is None):
            last_sync = hlc.wall_ms()
        start_behind = 0 if missing == 0 else max(start_behind, missing)
        sync = SyncStatus(
            connected=len(connected),
            last_sync_ms=last_sync,
            receiving=start_behind - missing,
            expected=start_behind,
        )
        # A peer catching up changes the class board, not this store (issue 20).
        board = board_signature(network, await store.heads()) if connected else ()
        live.publish(sync, content=advanced or board != last_board)
        last_board = board
        if advanced:
            await trio.sleep(THROTTLE)


def sse_message(live: Live, t: Translator | None = None) -> str:
    data = json.dumps({"version": live.version, "run": RUN_ID, "sync": live.sync.to_json(t)})
    return f"event: change\nid: {live.version}\ndata: {data}\n\n"


async def stream(
    live: Live, t: Translator | None = None, is_closing: Callable[[], bool] | None = None
) -> AsyncIterator[str]:
    """The Server-Sent Events of one page: the current state now, then every change, and a
    ping every :data:`HEARTBEAT` seconds so the page can tell a silent peer from a quiet one."""
    yield "retry: 1000\n\n"
    yield sse_message(live, t)
    seen = live.version
    while is_closing is None or not is_closing():
        with trio.move_on_after(HEARTBEAT) as waited:
            await live.wait_past(seen)
        if waited.cancelled_caught:
            yield "event: ping\ndata: {}\n\n"
            continue
        seen = live.version
        yield sse_message(live, t)
