"""Catch-up throughput: a fresh peer syncs 50,000 events from 20 authors over loopback TCP.

Two real ``peerclass run`` processes (no discovery; the fresh one dials the full one). Prints
events per second for the whole receive path (Noise, framing, decode, hash links, one
signature per author per batch, SQLite insert and projection) and both processes' peak memory.

    python bench/catchup.py [--events 50000] [--authors 20]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing

from peer.log import make_event
from peer.testing import PeerProcess, cli, cli_json, free_udp_port, wait_until
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


def catch_up_once(full: Path, fresh: Path, invite: str, target: int) -> tuple[float, ...]:
    """One fresh peer catching up from ``full``: (seconds from process start, seconds from
    'listening on', receiver's peak MiB, sender's peak MiB)."""
    cli(fresh, "init", "--name", "Fresh", "--invite", invite)
    port = free_udp_port()
    source = PeerProcess(full, port, ["--no-discovery"]).start()
    sink = PeerProcess(fresh, port, ["--no-discovery", "--peer", source.address])
    try:
        started = time.perf_counter()
        sink.start()
        listening = time.perf_counter()
        wait_until(lambda: count_events(fresh) >= target, 600, "the fresh peer to catch up")
        done = time.perf_counter()
        assert sink.process is not None and source.process is not None
        peaks = peak_rss_mib(sink.process.pid), peak_rss_mib(source.process.pid)
    finally:
        sink.stop()
        source.stop()
    return done - started, done - listening, *peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--authors", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="catch-ups to time (median shown)")
    args = parser.parse_args()
    print("load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
    with tempfile.TemporaryDirectory(prefix="peerclass-bench-") as tmp:
        root = Path(tmp)
        full = root / "full"
        invite = cli_json(
            full, "init", "--name", "Full", "--role", "instructor", "--class", "Bench"
        )["invite"]
        started = time.perf_counter()
        make_logs(full, args.events, args.authors)
        target = count_events(full)
        made = time.perf_counter() - started
        print(f"made {target} events from {args.authors} authors in {made:.1f}s")
        runs = []
        for run in range(args.runs):
            runs.append(catch_up_once(full, root / f"fresh{run}", invite, target))
            total, syncing, sink_mib, source_mib = runs[-1]
            print(
                f"run {run + 1}: {target - 1} events in {total:.2f}s from process start "
                f"({(target - 1) / total:,.0f} events/s), {syncing:.2f}s from 'listening on' "
                f"({(target - 1) / syncing:,.0f} events/s); peak memory: receiver "
                f"{sink_mib:.0f} MiB, sender {source_mib:.0f} MiB"
            )
    total = statistics.median(r[0] for r in runs)
    syncing = statistics.median(r[1] for r in runs)
    print(
        f"median of {args.runs}: {(target - 1) / total:,.0f} events/s from process start, "
        f"{(target - 1) / syncing:,.0f} events/s from 'listening on' (connect, handshake, "
        f"sync); peak memory of the receiver {max(r[2] for r in runs):.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
