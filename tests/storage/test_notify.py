"""A process that appends to the store wakes the running peer at once (no polling)."""

from __future__ import annotations

from pathlib import Path

import nacl.signing
import pytest
import trio

import storage._async as async_module
from storage import AsyncStore, Store


async def test_an_append_by_another_store_wakes_the_watch_without_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the fallback poll an hour away, only the wake-up datagram can advance the watch.
    monkeypatch.setattr(async_module, "FALLBACK_POLL_INTERVAL", 3600.0)
    peer_store = Store.open(tmp_path)
    other_process = Store.open(tmp_path)  # what `peerclass chat send` opens
    key = nacl.signing.SigningKey.generate()
    try:
        watched = AsyncStore(peer_store)
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                await nursery.start(watched.watch_other_writers)  # listening now
                start = watched.watch.max_local_id
                await trio.to_thread.run_sync(
                    lambda: other_process.append(key, "chat", {"room": "general", "text": "hi"})
                )
                await watched.watch.wait_beyond(start)
                nursery.cancel_scope.cancel()
        assert watched.watch.max_local_id == start + 1
    finally:
        other_process.close()
        peer_store.close()


def test_the_notify_address_differs_per_data_dir(tmp_path: Path) -> None:
    a, b = Store.open(tmp_path / "a"), Store.open(tmp_path / "b")
    try:
        assert a.notify_address is not None
        assert a.notify_address != b.notify_address
    finally:
        a.close()
        b.close()
