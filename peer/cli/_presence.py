"""Who joined and who left, told on the terminal by name: the one piece of network news a
person at ``peerclass run`` needs (the log file has the rest)."""

from __future__ import annotations

from collections.abc import Callable

import trio

from peer.cli._output import safe_line
from peer.identity import short_id
from peer.net import Node
from storage import AsyncStore

#: Connections replaced within this long (a simultaneous dial, a quick reconnect) are not news.
SETTLE = 0.5


async def tell_presence(node: Node, store: AsyncStore, announce: Callable[[str], None]) -> None:
    """Announce ``NAME (id) joined`` / ``left`` as connections come and go; until cancelled."""
    present: set[bytes] = set()
    while True:
        await node.mesh.changed.wait()
        await trio.sleep(SETTLE)
        now = node.mesh.connected()
        joined, left = sorted(now - present), sorted(present - now)
        present = now
        if not joined and not left:
            continue
        names = await store.names()
        for peer_id, what in [(p, "joined") for p in joined] + [(p, "left") for p in left]:
            name = safe_line(names.label(peer_id))
            announce(f"[class] {name} ({short_id(peer_id)}) {what}")
