"""What all of one peer's connections share for gossip, sans-IO: the heads it holds (with
their ids), the forks it knows of, and which missed announcements a connection is already
grafting, so that one missing event is asked of one link at a time.

Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007) keeps this
per node; the per-link half (eager or lazy, pending announcements) is in :mod:`_sync`.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from peer.net._wire import Vector

#: Graft claims kept before expired ones are swept (each is one author).
_SWEEP_AT = 1024


@attrs.define(eq=False)
class Gossip:
    """The node-wide gossip state: fed by the connections' drivers, read by their machines."""

    own_id: bytes
    #: Our version vector with head ids: author -> (last seq held, its event id).
    ours: Vector = attrs.field(factory=dict)
    #: author -> the first seq where its log forked; we relay only the agreed prefix below it.
    fork_points: dict[bytes, int] = attrs.field(factory=dict)
    #: author -> (seq being fetched by some connection's graft, until when that claim holds).
    _grafting: dict[bytes, tuple[int, float]] = attrs.field(factory=dict)

    def learn(self, author: bytes, seq: int, head_id: bytes) -> None:
        """We now hold ``author``'s log up to ``seq`` (whose id is ``head_id``)."""
        held = self.ours.get(author)
        if held is None or seq > held[0]:
            self.ours[author] = (seq, head_id)

    def merge(self, vector: Mapping[bytes, tuple[int, bytes]]) -> None:
        """Take the store's vector (at a session's start): heads only grow, so a session
        starting late cannot move the shared state backwards."""
        for author, (seq, head_id) in vector.items():
            self.learn(author, seq, head_id)

    def held(self, author: bytes) -> int:
        """The last seq of ``author`` we hold (0: none): what a link compares announcements
        with before it grafts."""
        head = self.ours.get(author)
        return 0 if head is None else head[0]

    def relay_limit(self, author: bytes) -> int:
        """The last seq of ``author`` we may pass on: all we hold, or for a forked author the
        prefix before the fork (which every peer agrees on)."""
        held = self.held(author)
        fork = self.fork_points.get(author)
        return held if fork is None else min(held, fork - 1)

    def set_fork_points(self, points: Mapping[bytes, int]) -> None:
        """Replace the known forks with the store's (after fork evidence was stored), so that
        no link relays a forked author past the prefix every peer agrees on."""
        self.fork_points = dict(points)

    def renew_graft(self, author: bytes, now: float, hold: float) -> None:
        """Events of ``author`` arrived: a claim on it is making progress, so it holds for
        ``hold`` more seconds (a long catch-up is judged by progress, and no second link
        starts the same range while the first one delivers)."""
        current = self._grafting.get(author)
        if current is not None:
            self._grafting[author] = (current[0], max(current[1], now + hold))

    def claim_graft(self, author: bytes, seq: int, now: float, timeout: float) -> bool:
        """True if this caller should graft for ``author`` up to ``seq`` now: no other link is
        already fetching it (a claim lapses after ``timeout``, so a dead link is not waited
        for)."""
        current = self._grafting.get(author)
        if current is not None and current[0] >= seq and current[1] > now:
            return False
        if len(self._grafting) >= _SWEEP_AT:
            self._grafting = {a: c for a, c in self._grafting.items() if c[1] > now}
        self._grafting[author] = (seq, now + timeout)
        return True
