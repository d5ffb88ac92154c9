"""The console names the author of each line of chat it prints. It reads the class's names
again only when a batch holds more than chat (issue 21: not once per received line), so a
newcomer whose profile arrives with their first line is still named."""

from __future__ import annotations

import functools
from pathlib import Path

import trio

from peer.cli._console import follow_events
from peer.identity import load_membership
from storage import AsyncStore, Store
from tests.helpers import make_class, pc_ok


def log_of(data_dir: Path) -> list[bytes]:
    store = Store.open(data_dir)
    try:
        return [raw for a in store.heads() for raw in store.events_range(a, 0, 1000)]
    finally:
        store.close()


async def test_chat_is_named_after_names_change_and_not_before(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 1, ["Teacher", "Ann"])
    ann = dirs.students[0]
    pc_ok(ann, "chat", "send", "hello from Ann")
    cleo = tmp_path / "cleo"
    pc_ok(cleo, "init", "--name", "Cleo", "--invite", dirs.invite)
    pc_ok(cleo, "chat", "send", "hello from Cleo")
    store = Store.open(dirs.instructor)
    lines: list[str] = []
    send, receive = trio.open_memory_channel[str](100)

    async def until_printed(text: str) -> None:
        while not any(text in line for line in lines):
            lines.append(await receive.receive())

    try:
        live = AsyncStore(store)
        await live.refresh()
        follow = functools.partial(
            follow_events, live, load_membership(dirs.instructor), send.send_nowait
        )
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(follow)
                await live.ingest(log_of(ann))
                await until_printed("hello from Ann")
                # Cleo's profile and join arrive with her line: one batch with more than chat.
                await live.ingest(log_of(cleo))
                await until_printed("hello from Cleo")
                nursery.cancel_scope.cancel()
    finally:
        store.close()
    assert any(line.startswith("[general] Ann (") and "hello from Ann" in line for line in lines)
    # Named from the batch she arrived in (not an unknown id): her name, still pending.
    assert any(
        line.startswith("[general] Cleo (pending)") and "hello from Cleo" in line for line in lines
    ), lines
