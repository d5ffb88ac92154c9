"""Live updates: the follower turns stored events and the network into versions and a sync
status; the SSE stream sends each version to the page."""

from __future__ import annotations

from pathlib import Path

import attrs
import trio
import trio.testing

from peer.web._live import Live, SyncStatus, behind, follow, stream
from storage import AsyncStore, Store
from tests.fixtures_core import chain, new_key, raws


def test_sync_status_text() -> None:
    assert SyncStatus().text == "no peers connected"
    assert SyncStatus(connected=1).text == "connected to 1 peer"
    status = SyncStatus(connected=2, receiving=12_400, expected=50_000)
    assert status.text == "receiving 12,400 of 50,000 events"
    assert status.to_json()["expected"] == 50_000


def test_behind_counts_what_connected_peers_hold_and_we_lack() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert behind({a: 5}, {a: 5, b: 3}) == 3
    assert behind({a: 9, b: 3}, {a: 5, b: 3}) == 0
    assert behind({}, {a: 7}) == 7


@attrs.define
class FakeNetwork:
    heads: dict[bytes, int] = attrs.field(factory=dict)

    def connected(self) -> set[bytes]:
        return {b"p" * 32} if self.heads else set()

    def remote_heads(self) -> dict[bytes, int]:
        return self.heads


async def test_follow_reports_a_catch_up_then_its_end(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    events = chain(new_key(), 10)
    network = FakeNetwork({events[0].author: 10})
    live = Live()
    async_store = AsyncStore(store)
    try:
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(follow, async_store, network, live)
                while live.sync.expected != 10:
                    await live.wait_past(live.version)
                assert live.sync.text == "receiving 0 of 10 events"
                await async_store.ingest(raws(events[:4]))
                while live.sync.receiving != 4:
                    await live.wait_past(live.version)
                assert live.sync.text == "receiving 4 of 10 events"
                await async_store.ingest(raws(events[4:]))
                while live.sync.expected:
                    await live.wait_past(live.version)
                assert live.sync.text == "connected to 1 peer"
                assert live.sync.last_sync_ms is not None
                nursery.cancel_scope.cancel()
    finally:
        store.close()


async def test_the_stream_sends_the_state_then_each_change() -> None:
    live = Live()
    received: list[str] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def read() -> None:
                async for chunk in stream(live):
                    received.append(chunk)
                    if len(received) == 3:
                        nursery.cancel_scope.cancel()

            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            live.publish(SyncStatus(connected=1), content=True)
    assert received[0].startswith("retry:")
    assert '"version": 0' in received[1]
    assert received[2].startswith("event: change\nid: 1\n") and "connected to 1 peer" in received[2]
