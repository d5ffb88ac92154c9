"""A class posting at once: N ``peerclass run`` processes that find each other by discovery on
127.255.255.255 (a free discovery port), then every peer types its share of 200 chat messages
into its console in the same instant.

Prints, per N: the time from the burst to the moment the last peer stored the last message
(from the probes, ``bench/_probe.py``); copies per useful delivery (every event handed to a
receive path, over messages x (N - 1)), counted until 3 s after convergence so that late
duplicates count; TCP bytes received per useful delivery (the minimum is one event, about
250 bytes); and peak memory per peer. Then the in-process simulation of 200 peers over memory
streams, when the gossip provides one (``peer.net._simulation``).

    python bench/class.py [--peers 10 20 40] [--messages 200] [--sim-peers 200] [--sim-degree 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BenchPeer,
    delta,
    heads_of,
    load_note,
    make_class,
    wait_for,
    wait_mesh_stable,
)

from peer.testing import free_udp_port

PAD = "x" * 120
CONVERGE_TIMEOUT = 120.0
#: After convergence, wait this long so that duplicates still in flight are counted.
SETTLE = 3.0


@attrs.frozen
class ClassFigures:
    peers: int
    messages: int
    converged_s: float | None
    copies: float
    bytes_per_delivery: float
    event_bytes: float
    peak_mib: float
    connections: tuple[int, int]


def run_class(n: int, messages: int) -> ClassFigures:
    with tempfile.TemporaryDirectory(prefix="peerclass-class-") as tmp:
        dirs = make_class(Path(tmp), n - 1)
        port = free_udp_port()
        peers: list[BenchPeer] = []
        started: list[concurrent.futures.Future[BenchPeer]] = []
        try:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                started = [pool.submit(BenchPeer.start, d, port) for d in dirs]
            peers = [f.result() for f in started if f.exception() is None]
            if len(peers) < n:
                raise RuntimeError(f"only {len(peers)} of {n} peers started")
            # Everyone's profile (from init) has spread: the class has met.
            if wait_for(lambda: _converged(dirs, None), CONVERGE_TIMEOUT, 0.2) is None:
                raise RuntimeError("the class did not meet (profiles did not converge)")
            counts = wait_mesh_stable(dirs)
            before = [p.snapshot() for p in peers]
            start = heads_of(dirs[0])
            by_author = {bytes.fromhex(p.author): p for p in peers}
            shares = {a: _share(i, n, messages) for i, a in enumerate(sorted(start))}
            expected = {a: start[a] + shares[a] for a in start}
            burst = time.time()
            for author, k in shares.items():
                if k:
                    by_author[author].console.type("\n".join(f"{i} {PAD}" for i in range(k)))
            waited = wait_for(lambda: _converged(dirs, expected), CONVERGE_TIMEOUT, 0.1)
            time.sleep(SETTLE)
            after = [p.snapshot() for p in peers]
            last_store = _last_store(after, start, expected)
            useful = messages * (n - 1)
            received = sum(delta(a, b, "received") for a, b in zip(after, before, strict=True))
            wire = sum(delta(a, b, "bytes_in") for a, b in zip(after, before, strict=True))
            peak = max(p.peak_rss_mib() for p in peers)
            return ClassFigures(
                peers=n,
                messages=messages,
                converged_s=None if waited is None else last_store - burst,
                copies=received / useful,
                bytes_per_delivery=wire / useful,
                event_bytes=_mean_event_bytes(dirs[0]),
                peak_mib=peak,
                connections=(min(counts), max(counts)),
            )
        finally:
            # Every peer that started, whatever failed after (or while others started).
            running = [f.result() for f in started if f.done() and f.exception() is None]
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda p: p.stop(), running))


def _share(index: int, n: int, messages: int) -> int:
    """How many of ``messages`` the ``index``-th of ``n`` peers posts (as even as possible)."""
    return messages // n + (1 if index < messages % n else 0)


def _converged(dirs: list[Path], expected: dict[bytes, int] | None) -> bool:
    vectors = [heads_of(d) for d in dirs]
    if expected is None:
        return len(vectors[0]) == len(dirs) and all(v == vectors[0] for v in vectors)
    return all(v == expected for v in vectors)


def _last_store(
    after: list[dict[str, Any]], start: dict[bytes, int], expected: dict[bytes, int]
) -> float:
    """When the last peer stored the last of the burst's events (probe clocks: time.time)."""
    last = 0.0
    for record in after:
        times = {**record["stored_at"], **record["authored_at"]}
        for author, head in expected.items():
            for seq in range(start[author] + 1, head + 1):
                last = max(last, times.get(f"{author.hex()}:{seq}", 0.0))
    return last


def _mean_event_bytes(data_dir: Path) -> float:
    import sqlite3

    with contextlib.closing(
        sqlite3.connect(f"file:{data_dir / 'peerclass.db'}?mode=ro", uri=True)
    ) as conn:
        return float(
            conn.execute("SELECT AVG(LENGTH(raw)) FROM events WHERE kind = 'chat'").fetchone()[0]
            or 0
        )


def run_simulation(peers: int, messages: int, degree: int) -> str:
    """The gossip's own in-process simulation (``peer.net._simulation``): the real sync
    machines over a virtual network with virtual time."""
    try:
        from peer.net import simulate
    except ImportError:
        return f"  simulation of {peers} peers: not available (no peer.net._simulation)"
    started = time.perf_counter()
    report = simulate(peers=peers, degree=degree, posts=messages, seed=1)
    took = time.perf_counter() - started
    converged = "never" if report.converged_at is None else f"{report.converged_at:.3f} s"
    return (
        f"simulation: {report.peers} peers on memory streams, about {report.degree} links each, "
        f"{report.posts} posts at once: converged after {converged} (virtual time), "
        f"{report.copies_per_delivery:.2f} copies per delivery, "
        f"{report.bytes_per_delivery:,.0f} B per delivery ({took:.1f} s to simulate)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--sim-peers", type=int, default=200, help="0 skips the simulation")
    parser.add_argument("--sim-degree", type=int, default=4, help="links per simulated peer")
    args = parser.parse_args()
    if not all(2 <= n <= 60 for n in args.peers) or not 1 <= args.messages <= 5000:
        parser.error("--peers must each be 2 to 60 and --messages 1 to 5000")
    if not 0 <= args.sim_peers <= 2000 or not 1 <= args.sim_degree <= 32:
        parser.error("--sim-peers must be 0 to 2000 and --sim-degree 1 to 32")
    print(load_note(), flush=True)
    rows = []
    for n in args.peers:
        print(f"class of {n}: starting", flush=True)
        try:
            rows.append(run_class(n, args.messages))
        except (RuntimeError, TimeoutError) as exc:
            print(f"  class of {n}: not measured: {exc}", flush=True)
            continue
        r = rows[-1]
        print(f"  {r}", flush=True)
    print()
    print(
        f"{'peers':>5} {'posts':>5} | {'converged':>9} {'copies':>6} {'B/delivery':>10} "
        f"{'event B':>7} | {'peak MiB/peer':>13} {'connections':>11}"
    )
    for r in rows:
        conv = "not" if r.converged_s is None else f"{r.converged_s:.2f} s"
        print(
            f"{r.peers:>5} {r.messages:>5} | {conv:>9} {r.copies:>6.2f} "
            f"{r.bytes_per_delivery:>10,.0f} {r.event_bytes:>7.0f} | {r.peak_mib:>13.0f} "
            f"{r.connections[0]:>5}-{r.connections[1]:<5}"
        )
    if args.sim_peers:
        print(run_simulation(args.sim_peers, args.messages, args.sim_degree))
    print(load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
