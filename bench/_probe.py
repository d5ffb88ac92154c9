"""``peerclass`` with counters, for the benches: ``python bench/_probe.py --data-dir DIR run ...``.

Wraps the real program without changing it: counts the events handed to the store's receive
path (every copy that arrived) and those it stored (the useful ones), notes when each event
was stored or authored here, and counts TCP payload bytes in and out (Noise and framing
included; discovery datagrams are not TCP). The counters go to ``DIR/probe.json`` when the
process gets SIGUSR1 and when it exits, so a bench can take them before and after a window.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import trio

from peer.cli import main
from storage import _store

PROBE_FILE = "probe.json"

counts = {"received": 0, "stored": 0, "bytes_in": 0, "bytes_out": 0}
#: "author-hex:seq" -> time.time() when it was stored (received) or authored (ours).
stored_at: dict[str, float] = {}
authored_at: dict[str, float] = {}


def _key(author: bytes, seq: int) -> str:
    return f"{author.hex()}:{seq}"


def _patch() -> None:
    ingest, append_many = _store.Store.ingest, _store.Store.append_many
    receive_some, send_all = trio.SocketStream.receive_some, trio.SocketStream.send_all

    def counting_ingest(self: Any, raws: Any) -> Any:
        result = ingest(self, raws)
        now = time.time()
        counts["received"] += len(raws)
        counts["stored"] += len(result.stored)
        for ev in result.stored:
            stored_at[_key(ev.author, ev.seq)] = now
        return result

    def timed_append_many(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Store.append goes through append_many too (one event, one transaction).
        authored = append_many(self, *args, **kwargs)
        now = time.time()
        for ev in authored:
            authored_at[_key(ev.author, ev.seq)] = now
        return authored

    async def counting_receive(self: Any, max_bytes: int | None = None) -> bytes:
        data = await receive_some(self, max_bytes)
        counts["bytes_in"] += len(data)
        return data

    async def counting_send(self: Any, data: Any) -> None:
        await send_all(self, data)
        counts["bytes_out"] += len(data)

    _store.Store.ingest = counting_ingest  # type: ignore[method-assign]
    _store.Store.append_many = timed_append_many  # type: ignore[method-assign]
    trio.SocketStream.receive_some = counting_receive  # type: ignore[method-assign]
    trio.SocketStream.send_all = counting_send  # type: ignore[method-assign]


def _dump(data_dir: Path) -> None:
    record = {**counts, "stored_at": stored_at, "authored_at": authored_at, "at": time.time()}
    tmp = data_dir / (PROBE_FILE + ".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(data_dir / PROBE_FILE)


def read_probe(data_dir: Path) -> dict[str, Any]:
    """What the probe of ``data_dir`` last wrote."""
    return json.loads((data_dir / PROBE_FILE).read_text())  # type: ignore[no-any-return]


def run() -> int:
    data_dir = Path(sys.argv[sys.argv.index("--data-dir") + 1])
    _patch()
    signal.signal(signal.SIGUSR1, lambda _sig, _frame: _dump(data_dir))
    sys.argv[0] = "peerclass"
    try:
        return main()
    finally:
        _dump(data_dir)


if __name__ == "__main__":
    sys.exit(run())
