"""Who joined, left or is back (issue 19): "joined" only the first time an identity is met,
"left" once it has been gone over a minute, "back" after that (or after an absence spanning
an earlier run), nothing at all for a reconnect. Run on virtual time: the minute passes
without anyone waiting for it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
import trio
import trio.testing

from peer.cli._presence import tell_presence

ALICE, BORA, CHUL = b"a" * 32, b"b" * 32, b"c" * 32
NAMES = {ALICE: "Alice", BORA: "보라", CHUL: "Chul"}
EPOCH = 1_900_000_000.0  # the wall clock at virtual time 0


@attrs.define
class FakeMesh:
    """The two things presence reads of a node's mesh: who is connected, and a change."""

    peers: set[bytes] = attrs.field(factory=set)
    changed: trio.Event = attrs.field(factory=trio.Event)

    def connected(self) -> set[bytes]:
        return set(self.peers)

    def set(self, peers: set[bytes]) -> None:
        self.peers = set(peers)
        self.changed.set()
        self.changed = trio.Event()


@attrs.define
class FakeNode:
    mesh: FakeMesh = attrs.field(factory=FakeMesh)


@attrs.define
class FakeStore:
    """When each identity was last seen in earlier runs, and the names to show."""

    seen: dict[bytes, float]

    async def query(self, fn: Callable[..., Any], *args: Any) -> dict[bytes, float]:
        return self.seen

    async def names(self) -> dict[bytes, str]:
        return NAMES


async def test_joined_once_back_after_a_minute_and_nothing_for_a_reconnect(
    autojump_clock: trio.testing.MockClock,
) -> None:
    node = FakeNode()
    store = FakeStore({BORA: EPOCH - 3600, CHUL: EPOCH - 10})  # Bora an hour ago, Chul just now
    lines: list[str] = []

    def told() -> list[str]:
        """What was printed since last asked, ids left out: ``[class] Alice (ab12cd34) left``
        is ``Alice left``."""
        said = [re.sub(r" \(\w{8}\)", "", line.removeprefix("[class] ")) for line in lines]
        lines.clear()
        return said

    async with trio.open_nursery() as nursery:
        clock = lambda: EPOCH + trio.current_time()  # noqa: E731
        nursery.start_soon(lambda: tell_presence(node, store, lines.append, clock=clock))  # type: ignore[arg-type]
        await trio.sleep(1)
        node.mesh.set({ALICE, BORA, CHUL})
        await trio.sleep(1)  # past the settling time: virtual, so the order is certain
        assert told() == ["Alice joined", "보라 is back"]  # Chul was here a moment ago
        node.mesh.set({BORA, CHUL})  # Alice's connection drops...
        await trio.sleep(30)
        node.mesh.set({ALICE, BORA, CHUL})  # ...and comes back within the minute
        await trio.sleep(1)
        assert told() == []
        node.mesh.set({BORA, CHUL})
        await trio.sleep(59)
        assert told() == []  # not a minute yet
        await trio.sleep(2)
        assert told() == ["Alice left"]  # the timer ran past the minute on its own
        node.mesh.set({ALICE, BORA, CHUL})
        await trio.sleep(1)
        assert told() == ["Alice is back"]
        nursery.cancel_scope.cancel()
    assert lines == []
