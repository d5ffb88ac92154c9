"""The running peer's roster duties (admits, shares) are looked for when events arrive, but
not for a batch of chat alone (issue 21: that look ran once per received line)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from peer.cli._membership import keep_membership
from peer.identity import load_membership
from storage import AsyncStore, Store
from tests.helpers import make_class, pc_ok

T = TypeVar("T")


def log_of(data_dir: Path) -> list[bytes]:
    store = Store.open(data_dir)
    try:
        return [raw for a in store.heads() for raw in store.events_range(a, 0, 1000)]
    finally:
        store.close()


async def test_chat_alone_asks_nothing_of_the_roster_and_a_join_does(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 1, ["Teacher", "Ann"])
    ann = dirs.students[0]
    store = Store.open(dirs.instructor)
    store.ingest(log_of(ann))
    pc_ok(ann, "chat", "send", "hello")
    cleo = tmp_path / "cleo"
    pc_ok(cleo, "init", "--name", "Cleo", "--invite", dirs.invite)
    calls: list[str] = []
    looked = trio.Event()

    async def run_sync(fn: Callable[..., T], *args: Any, limiter: trio.CapacityLimiter) -> T:
        named = fn.func if isinstance(fn, functools.partial) else fn
        calls.append(named.__name__)
        result = await trio.to_thread.run_sync(fn, *args, limiter=limiter)
        if named.__name__ in ("refs_after", "pending_duties"):
            looked.set()
        return result

    try:
        live = AsyncStore(store, run_sync=run_sync)
        await live.refresh()
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(keep_membership, live, load_membership(dirs.instructor))
                while calls.count("pending_duties") < 1:  # the first look, at start
                    await looked.wait()
                    looked = trio.Event()
                await live.ingest(log_of(ann))  # Ann's line of chat, alone
                while calls.count("refs_after") < 1:
                    await looked.wait()
                    looked = trio.Event()
                await live.ingest(log_of(cleo))  # a profile and a join
                while calls.count("pending_duties") < 2:
                    await looked.wait()
                    looked = trio.Event()
                nursery.cancel_scope.cancel()
    finally:
        store.close()
    assert calls.count("pending_duties") == 2
    assert calls.count("refs_after") == 2
