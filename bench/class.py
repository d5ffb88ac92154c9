"""A class posting at once: N ``peerclass run`` processes that find each other by discovery on
127.255.255.255 (a free discovery port), then every student types ``--lines`` chat lines (10 by
default: 200 posts in a class of 20, 400 in a class of 40) into their own terminal (a pty) in
the same instant.

Prints, per N: the time from the moment the lines were typed to the moment the last peer stored
the last of them (from the probes, ``bench/_probe.py``); copies per delivery over the WHOLE run
(every event handed to a receive path on every peer since it started, over the events those
peers stored: the start-up burst of profiles and joins included), and over the burst alone
(counted until 3 s after convergence, so late duplicates count); TCP bytes received per useful
delivery of the burst (the minimum is one event, about 250 bytes); CPU per event a peer stored
during the burst, from ``/proc/<pid>/stat`` (the median over peers); and peak memory per peer.
Then the in-process simulation of 200 peers over memory streams (``peer.net._simulation``).

    python bench/class.py [--peers 20 40] [--lines 10] [--sim-peers 200] [--sim-degree 4]
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
    median,
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
    copies_whole_run: float
    cpu_per_event_ms: float
    bytes_per_delivery: float
    event_bytes: float
    peak_mib: float
    connections: tuple[int, int]
    #: Deliveries still missing when the wait ended (0 once converged).
    missing: int = 0


def run_class(n: int, lines: int) -> ClassFigures:
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
            shares = {a: lines for a in start}
            messages = lines * len(start)
            expected = {a: start[a] + shares[a] for a in start}
            cpu_before = [p.cpu_seconds() for p in peers]
            burst = time.time()
            for author, k in shares.items():
                if k:
                    by_author[author].console.type("\n".join(f"{i} {PAD}" for i in range(k)))
            waited = wait_for(lambda: _converged(dirs, expected), CONVERGE_TIMEOUT, 0.1)
            missing = _missing(dirs, expected)
            time.sleep(SETTLE)
            cpu = [p.cpu_seconds() - b for p, b in zip(peers, cpu_before, strict=True)]
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
                copies_whole_run=sum(a["received"] for a in after)
                / max(1, sum(a["stored"] for a in after)),
                cpu_per_event_ms=median(
                    [
                        c * 1000 / delta(a, b, "stored")
                        for c, a, b in zip(cpu, after, before, strict=True)
                        if delta(a, b, "stored")
                    ]
                ),
                bytes_per_delivery=wire / useful,
                event_bytes=_mean_event_bytes(dirs[0]),
                peak_mib=peak,
                connections=(min(counts), max(counts)),
                missing=missing,
            )
        finally:
            # Every peer that started, whatever failed after (or while others started).
            running = [f.result() for f in started if f.done() and f.exception() is None]
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda p: p.stop(), running))


def _converged(dirs: list[Path], expected: dict[bytes, int] | None) -> bool:
    vectors = [heads_of(d) for d in dirs]
    if expected is None:
        return len(vectors[0]) == len(dirs) and all(v == vectors[0] for v in vectors)
    # At least the burst everywhere: a peer may author more meanwhile (an instructor's roster
    # duty, a witness checkpoint), which is not the burst's to wait for.
    return all(v.get(a, 0) >= seq for v in vectors for a, seq in expected.items())


def _missing(dirs: list[Path], expected: dict[bytes, int]) -> int:
    """Deliveries of the burst that some peer still lacks."""
    total = 0
    for d in dirs:
        heads = heads_of(d)
        total += sum(max(0, seq - heads.get(a, 0)) for a, seq in expected.items())
    return total


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
    parser.add_argument("--peers", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--lines", type=int, default=10, help="lines each student types")
    parser.add_argument("--sim-peers", type=int, default=200, help="0 skips the simulation")
    parser.add_argument("--sim-degree", type=int, default=4, help="links per simulated peer")
    args = parser.parse_args()
    if not all(2 <= n <= 60 for n in args.peers) or not 1 <= args.lines <= 500:
        parser.error("--peers must each be 2 to 60 and --lines 1 to 500")
    if not 0 <= args.sim_peers <= 2000 or not 1 <= args.sim_degree <= 32:
        parser.error("--sim-peers must be 0 to 2000 and --sim-degree 1 to 32")
    print(load_note(), flush=True)
    rows = []
    for n in args.peers:
        print(f"class of {n}: starting", flush=True)
        try:
            rows.append(run_class(n, args.lines))
        except (RuntimeError, TimeoutError) as exc:
            print(f"  class of {n}: not measured: {exc}", flush=True)
            continue
        r = rows[-1]
        print(f"  {r}; {load_note()}", flush=True)
    print()
    print(
        f"{'peers':>5} {'posts':>5} | {'typed to stored':>15} {'copies run':>10} "
        f"{'burst':>6} {'B/delivery':>10} {'event B':>7} {'CPU ms/event':>12} | "
        f"{'peak MiB/peer':>13} {'connections':>11}"
    )
    for r in rows:
        conv = f"not ({r.missing} short)" if r.converged_s is None else f"{r.converged_s:.2f} s"
        print(
            f"{r.peers:>5} {r.messages:>5} | {conv:>15} {r.copies_whole_run:>10.2f} "
            f"{r.copies:>6.2f} {r.bytes_per_delivery:>10,.0f} {r.event_bytes:>7.0f} "
            f"{r.cpu_per_event_ms:>12.2f} | {r.peak_mib:>13.0f} "
            f"{r.connections[0]:>5}-{r.connections[1]:<5}"
        )
    if args.sim_peers:
        print(run_simulation(args.sim_peers, 200, args.sim_degree))
    print(load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
