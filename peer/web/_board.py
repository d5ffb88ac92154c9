"""The class at a glance on the instructor's page and as JSON (issue 20).

A student's peer is online when the instructor's peer is connected to it or heard its signed
discovery beacon lately (a partial mesh does not connect every pair). How far behind it is
comes from the running node, for a peer connected to this one: the events this store holds
beyond what that peer is known to hold (its version vector as it told us, plus what we sent
it since). A node that cannot say (the app on its own, a test's fake network) gives no
numbers, and the board shows online and last seen as the address book has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

from peer.log import hlc
from storage import Store
from storage.queries import Board, class_board


@runtime_checkable
class KnowsPeers(Protocol):
    """A network that can tell who is around and what each connected peer holds
    (``NodeNetwork``); call it on the Trio thread, never from a worker."""

    def peer_vectors(self) -> dict[bytes, dict[bytes, int]]: ...

    def heard(self) -> set[bytes]: ...


@attrs.frozen
class PeersNow:
    """What the running node says of the class's peers at one moment."""

    #: Connected peer -> what it is known to hold (its version vector, and what we sent it).
    vectors: Mapping[bytes, Mapping[bytes, int]] = attrs.field(factory=dict)
    #: Peers whose signed discovery beacons were heard lately (connected here or not).
    heard: frozenset[bytes] = frozenset()


def peers_now(network: object) -> PeersNow:
    """Read the node's view (on the Trio thread); nothing for a network that cannot say."""
    if not isinstance(network, KnowsPeers):
        return PeersNow()
    return PeersNow(network.peer_vectors(), frozenset(network.heard()))


def peers_behind(now: PeersNow, local: Mapping[bytes, int]) -> dict[bytes, int]:
    """Connected peer -> events this store holds that it lacks."""
    return {
        peer: sum(max(0, seq - known.get(author, 0)) for author, seq in local.items())
        for peer, known in now.vectors.items()
    }


def board_of(store: Store, instructor: bytes, now: PeersNow) -> Board:
    """The board (blocking: call it in a worker thread, as every store read)."""
    behind = peers_behind(now, store.heads())
    return class_board(store, instructor, behind, hlc.wall_ms(), heard=now.heard)


def board_signature(network: object, local: Mapping[bytes, int]) -> tuple[object, ...]:
    """What changes the board without a new event here (a peer catching up, one heard or
    gone): the live page refreshes when it changes."""
    now = peers_now(network)
    return (tuple(sorted(peers_behind(now, local).items())), tuple(sorted(now.heard)))
