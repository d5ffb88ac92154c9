"""The receive path alone, in one process: decode, hash links, signatures, SQLite insert.

50,000 signed ~250-byte chat events from 20 authors, ingested in batches of 1,000 as the sync
delivers them. Prints events per second with one signature check per author per batch (what
peerclass does) and, for comparison, with every signature checked.

    python bench/ingest.py [--events 50000] [--authors 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing

from peer.log import Event, make_event
from storage import Store
from storage import _ingest as ingest_module

BATCH = 1000


def make_events(events: int, authors: int) -> list[bytes]:
    """Each author's log in order, then interleaved per batch the way the sync sends them."""
    raws = []
    for _ in range(authors):
        key = nacl.signing.SigningKey.generate()
        prev, ts = None, 1 << 40
        for seq in range(1, events // authors + 1):
            ts += 1
            body = {"room": "general", "text": f"{seq} " + "x" * 150}
            ev = make_event(key, seq=seq, prev=prev, ts=ts, kind="chat", body=body)
            prev = ev.id
            raws.append(ev.raw)
    return raws


one_per_run = ingest_module._authenticated_prefix


def _every_signature(run: list[Event], out: object) -> list[Event]:
    """The alternative design: verify each event's own signature."""
    for index, ev in enumerate(run):
        if not ev.verify_signature():
            return run[:index]
    return run


def timed_ingest(raws: list[bytes]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp))
        try:
            started = time.perf_counter()
            for start in range(0, len(raws), BATCH):
                result = store.ingest(raws[start : start + BATCH])
                assert not result.rejected, result.rejected[:1]
            elapsed = time.perf_counter() - started
            assert store.event_count() == len(raws)
        finally:
            store.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--authors", type=int, default=20)
    args = parser.parse_args()
    raws = make_events(args.events, args.authors)
    elapsed = timed_ingest(raws)
    print(f"ingest, one signature per author per batch: {len(raws) / elapsed:,.0f} events/s")
    checked = 0
    original = Event.verify_signature

    def counting(self: Event) -> bool:
        nonlocal checked
        checked += 1
        return original(self)

    Event.verify_signature = counting  # type: ignore[method-assign]
    try:
        timed_ingest(raws)
        print(f"  (signatures checked: {checked} for {len(raws)} events)")
        ingest_module._authenticated_prefix = _every_signature
        elapsed = timed_ingest(raws)
    finally:
        Event.verify_signature = original  # type: ignore[method-assign]
        ingest_module._authenticated_prefix = one_per_run
    print(f"ingest, every signature checked:             {len(raws) / elapsed:,.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
