"""Catch-up throughput: a fresh peer syncs 50,000 events from 20 authors over loopback TCP.

Two real ``peerclass run`` processes (no discovery; the fresh one dials the full one). Prints
events per second for the whole receive path (Noise, framing, decode, hash links, one
signature per author per batch, SQLite insert and projection) and both processes' peak memory.

    python bench/catchup.py [--events 50000] [--authors 20]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing

from peer.cluster import PeerProcess, cli, cli_json, free_udp_port, wait_until
from peer.events import make_event
from storage import Store

TEXT = "x" * 150  # with the envelope, about 250-byte events


def make_logs(data_dir: Path, events: int, authors: int) -> None:
    """Fill ``data_dir``'s store with ``events`` chat events spread over ``authors`` logs."""
    keys = [nacl.signing.SigningKey.generate() for _ in range(authors)]
    store = Store.open(data_dir)
    try:
        per_author = events // authors
        for key in keys:
            prev, ts, batch = None, 1 << 40, []
            for seq in range(1, per_author + 1):
                ts += 1
                ev = make_event(
                    key,
                    seq=seq,
                    prev=prev,
                    ts=ts,
                    kind="chat",
                    body={"room": "general", "text": f"{seq} {TEXT}"},
                )
                prev = ev.id
                batch.append(ev.raw)
                if len(batch) == 1000:
                    store.ingest(batch)
                    batch = []
            if batch:
                store.ingest(batch)
    finally:
        store.close()


def count_events(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / 'peerclass.db'}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--authors", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peerclass-bench-") as tmp:
        root = Path(tmp)
        full, fresh = root / "full", root / "fresh"
        invite = cli_json(
            full, "init", "--name", "Full", "--role", "instructor", "--class", "Bench"
        )["invite"]
        cli(fresh, "init", "--name", "Fresh", "--invite", invite)
        started = time.perf_counter()
        make_logs(full, args.events, args.authors)
        target = count_events(full)
        print(
            f"made {target} events from {args.authors} authors "
            f"in {time.perf_counter() - started:.1f}s"
        )
        port = free_udp_port()
        source = PeerProcess(full, port, ["--no-discovery"]).start()
        sink = PeerProcess(fresh, port, ["--no-discovery", "--peer", source.address])
        started = time.perf_counter()
        sink.start()
        listening = time.perf_counter()
        wait_until(lambda: count_events(fresh) >= target, 600, "the fresh peer to catch up")
        done = time.perf_counter()
        elapsed, syncing = done - started, done - listening
        assert sink.process is not None and source.process is not None
        sink_mib, source_mib = peak_rss_mib(sink.process.pid), peak_rss_mib(source.process.pid)
        received = count_events(fresh) - 1  # less the fresh peer's own profile
        sink.stop()
        source.stop()
    print(f"catch-up from process start: {received} events in {elapsed:.2f}s", end=" ")
    print(f"= {received / elapsed:,.0f} events/s")
    print(f"catch-up from 'listening on': {received} events in {syncing:.2f}s", end=" ")
    print(f"= {received / syncing:,.0f} events/s (connect, handshake, sync)")
    print(f"peak memory: receiving peer {sink_mib:.0f} MiB, sending peer {source_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
