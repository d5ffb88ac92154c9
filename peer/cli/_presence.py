"""Who joined, who left and who is back, told on the terminal by name: the one piece of
network news a person at ``peerclass run`` needs (the log file has the rest).

Connections come and go for reasons no person cares about (a simultaneous dial, a laptop
changing networks, a peer restarted), so the terminal tells what people mean: ``joined`` the
first time an identity is ever met, ``left`` once it has been gone for over a minute, ``back``
when it returns after that (or after more than a minute since this peer last saw it, in an
earlier run); a reconnect within the minute is not news at all. :class:`Presence` decides
this from the set of connected peers and the time, with no I/O, so it is tested by moving its
clock; :func:`tell_presence` feeds it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import attrs
import trio

from peer.cli._speech import _
from peer.identity import short_id
from peer.net import Node
from storage import AsyncStore, Store

#: Connections replaced within this long (a simultaneous dial, a quick reconnect) are not news.
SETTLE = 0.5
#: Gone for longer than this (seconds) is "left", and returning after it is "back".
ABSENCE = 60.0

News = tuple[bytes, str]  # (peer id, "joined" | "left" | "back")


@attrs.define
class Presence:
    """What to tell as the connected set changes. Times are seconds on one clock."""

    #: When each identity was last connected (from earlier runs too, at the start).
    last_seen: dict[bytes, float] = attrs.field(factory=dict)
    absence: float = ABSENCE
    present: set[bytes] = attrs.field(factory=set)
    #: Disconnected peers and since when; ``told_left``: those already told as left.
    gone_since: dict[bytes, float] = attrs.field(factory=dict)
    told_left: set[bytes] = attrs.field(factory=set)

    def update(self, connected: set[bytes], now: float) -> list[News]:
        """The news of the connected set being ``connected`` at ``now`` (and of absences
        that passed the limit meanwhile)."""
        news: list[News] = []
        for peer in sorted(connected - self.present):
            news += self._arrived(peer, now)
        for peer in sorted(self.present - connected):
            self.gone_since[peer] = now
        self.present = set(connected)
        for peer in self.present:
            self.last_seen[peer] = now
        return news + self.due(now)

    def _arrived(self, peer: bytes, now: float) -> list[News]:
        gone = self.gone_since.pop(peer, None)
        if peer in self.told_left:
            self.told_left.discard(peer)
            return [(peer, "back")]
        if gone is not None:
            return []  # back within the minute: a reconnect, not news
        seen = self.last_seen.get(peer)
        if seen is None:
            return [(peer, "joined")]
        return [(peer, "back")] if now - seen > self.absence else []

    def due(self, now: float) -> list[News]:
        """Peers gone for longer than the limit and not yet told as left."""
        gone = sorted(
            p
            for p, t in self.gone_since.items()
            if now - t > self.absence and p not in self.told_left
        )
        self.told_left.update(gone)
        return [(p, "left") for p in gone]

    def next_deadline(self) -> float:
        """When the next absence passes the limit (``inf``: none is pending)."""
        pending = [t for p, t in self.gone_since.items() if p not in self.told_left]
        return min(pending) + self.absence if pending else math.inf


def seen_before(store: Store) -> dict[bytes, float]:
    """When this peer last saw each identity, in earlier runs (seconds since the epoch)."""
    return {r.id: r.last_seen / 1000 for r in store.peer_records() if r.last_seen is not None}


async def tell_presence(
    node: Node,
    store: AsyncStore,
    announce: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.time,
) -> None:
    """Announce ``NAME (id) joined`` / ``left`` / ``is back`` as :class:`Presence` decides;
    until cancelled. ``clock``: seconds since the epoch (the store's last-seen times)."""
    presence = Presence(dict(await store.query(seen_before)))
    while True:
        changed = node.mesh.changed  # set (and replaced) by any change from now on
        news = presence.update(node.mesh.connected(), clock())
        if news:
            names = await store.names()
            for line in presence_lines(news, names):
                announce(line)
        wait = presence.next_deadline() - clock()
        with trio.move_on_after(max(0.0, wait) + 0.01 if math.isfinite(wait) else math.inf):
            await changed.wait()
            await trio.sleep(SETTLE)


def presence_lines(news: list[News], names: Mapping[bytes, str]) -> list[str]:
    """Each piece of news as a line, in the terminal's language."""
    lines = []
    for peer, what in news:
        who = {"name": names.get(peer) or _("someone not yet known"), "id": short_id(peer)}
        if what == "joined":
            lines.append(_("[class] {name} ({id}) joined", **who))
        elif what == "left":
            lines.append(_("[class] {name} ({id}) left", **who))
        else:
            lines.append(_("[class] {name} ({id}) is back", **who))
    return lines
