"""The running peer's live path (issue 21): the sessions that wake on one new event share its
reads, a write and its look at the store are one hop, a sleeping session wakes when the store
grows, and repeated events are told apart from forks with one look per author."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import nacl.signing
import trio

from storage import AsyncStore, Store

T = TypeVar("T")
KEY = nacl.signing.SigningKey(bytes(range(32)))


def counting(store: Store) -> tuple[AsyncStore, list[str]]:
    """An AsyncStore whose worker-thread calls are noted by name (still in worker threads)."""
    calls: list[str] = []

    async def run_sync(fn: Callable[..., T], *args: Any, limiter: trio.CapacityLimiter) -> T:
        named = fn.func if isinstance(fn, functools.partial) else fn
        calls.append(named.__name__)
        return await trio.to_thread.run_sync(fn, *args, limiter=limiter)

    return AsyncStore(store, run_sync=run_sync), calls


def say(store: Store, text: str) -> None:
    store.append(KEY, "chat", {"room": "general", "text": text})


async def test_sessions_asking_the_same_page_at_once_share_one_read(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        for text in ("one", "two"):
            say(store, text)
        live, calls = counting(store)
        await live.refresh()
        calls.clear()
        pages: list[list[Any]] = []

        async def session() -> None:
            pages.append(await live.refs_after(0, 100))
            pages.append(await live.raws([r.local_id for r in pages[0]]))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(session)
        assert calls.count("refs_after") == 1
        assert calls.count("raws") == 1
        refs = [p for p in pages if p and not isinstance(p[0], bytes)]
        assert len(refs) == 5 and all(p == refs[0] for p in refs)
        assert [r.seq for r in refs[0]] == [1, 2]
        # Each caller has its own list: one changing it changes nobody else's.
        refs[0].clear()
        assert len(await live.refs_after(0, 100)) == 2
    finally:
        store.close()


async def test_a_write_in_between_is_not_answered_from_an_earlier_read(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        say(store, "one")
        live, calls = counting(store)
        await live.refresh()
        assert [r.seq for r in await live.refs_after(0, 100)] == [1]
        await live.append(KEY, "chat", {"room": "general", "text": "two"})
        assert [r.seq for r in await live.refs_after(0, 100)] == [1, 2]
        assert calls.count("refs_after") == 2
    finally:
        store.close()


async def test_an_append_and_the_look_after_it_are_one_thread_hop(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        live, calls = counting(store)
        await live.refresh()
        start = live.watch.max_local_id
        calls.clear()
        await live.append(KEY, "chat", {"room": "general", "text": "hi"})
        assert len(calls) == 1
        assert live.watch.max_local_id == start + 1
    finally:
        store.close()


async def test_received_events_advance_the_watch_and_duplicates_do_not(tmp_path: Path) -> None:
    author, receiver = Store.open(tmp_path / "a"), Store.open(tmp_path / "b")
    try:
        say(author, "one")
        say(author, "two")
        raws = author.events_range(KEY.verify_key.encode(), 0, 10)
        live, calls = counting(receiver)
        await live.refresh()
        start = live.watch.max_local_id
        first = await live.ingest(raws)
        assert len(first.stored) == 2 and live.watch.max_local_id == start + 2
        again = await live.ingest(raws)  # both already held: the head and the one before it
        assert again.stored == () and again.duplicates == 2 and not again.fork_notes
        assert live.watch.max_local_id == start + 2
        assert calls.count("_ingest_then_look") == 2
    finally:
        author.close()
        receiver.close()


async def test_a_registered_event_is_set_when_the_store_grows(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        live = AsyncStore(store)
        await live.refresh()
        woken, forgotten = trio.Event(), trio.Event()
        live.watch.wake_on_advance(woken)
        live.watch.wake_on_advance(forgotten)
        live.watch.forget(forgotten)
        with trio.fail_after(10):
            await live.append(KEY, "chat", {"room": "general", "text": "hi"})
            await woken.wait()
        assert not forgotten.is_set()
    finally:
        store.close()
