"""Fan-out latency: 1 author, 10 receiving ``peerclass run`` processes on loopback.

The author's console is a pty: the bench types chat lines into it at 5, 20 and 100 messages a
second, so each message is authored inside the running peer, as a student typing would. The
latency of a message is timed as a person sees it: from the moment the bench types the line
into the author's terminal to the moment the LAST receiver stored it (the probe,
``bench/_probe.py``, notes when; one clock). CPU is read from ``/proc/<pid>/stat`` (utime +
stime) before and after each rate: per received live event (each receiver's CPU over the events
it stored; the median over receivers) and per authored one (the author's CPU over its lines,
relaying included). "Early" counts lines some receiver stored before the author's own commit
returned (the author's line must be durable before it is sent: it should be 0). Before the
rates, every peer sits idle for a while and its share of a core is printed. Copies per delivery are
the events handed to the receive path on every peer over the useful deliveries; bytes are TCP
payload received by every peer over the useful deliveries. The same fan-out over ZeroMQ
PUB/SUB (10 subscriber processes) follows, so the ratio is printed, not remembered.

    python bench/fanout.py [--receivers 10] [--rates 5 20 100] [--seconds 10] [--no-zmq] [--idle 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BenchPeer,
    delta,
    head_of,
    load_note,
    make_class,
    median,
    percentile,
    wait_for,
    wait_mesh_stable,
)

from peer.testing import free_udp_port

#: The text of a bench message, padded so that the signed event is about 250 bytes.
PAD = "x" * 120
DELIVERY_TIMEOUT = 60.0


@attrs.frozen
class Figures:
    rate: int
    sent: int
    median_ms: float
    p99_ms: float
    max_ms: float
    undelivered: int
    copies: float | None = None
    bytes_per_delivery: float | None = None
    author_lag_ms: float | None = None
    commit_to_last_ms: float | None = None
    commit_to_first_ms: float | None = None
    cpu_receive_ms: float | None = None
    cpu_author_ms: float | None = None
    early: int = 0
    load: str = ""


def idle_share(peers: list[BenchPeer], seconds: float) -> str:
    """Every peer's CPU while nobody types, as a share of one core (median and max)."""
    before = [p.cpu_seconds() for p in peers]
    start = time.monotonic()
    time.sleep(seconds)
    took = time.monotonic() - start
    shares = [(p.cpu_seconds() - b) / took * 100 for p, b in zip(peers, before, strict=True)]
    return (
        f"idle {seconds:g} s: CPU per peer median {median(shares):.2f}% of a core, max "
        f"{max(shares):.2f}% ({load_note()})"
    )


def run_peerclass(
    receivers: int, rates: list[int], seconds: float, idle_seconds: float = 20.0
) -> list[Figures]:
    results = []
    with tempfile.TemporaryDirectory(prefix="peerclass-fanout-") as tmp:
        dirs = make_class(Path(tmp), receivers)
        port = free_udp_port()
        peers: list[BenchPeer] = []
        try:
            for d in dirs:
                peers.append(BenchPeer.start(d, port))
            author, others = peers[0], peers[1:]
            author.console.type("warm-up")
            seq = wait_author_seq(author, 1)
            wait_all(others, author.author, seq, DELIVERY_TIMEOUT)
            counts = wait_mesh_stable(dirs)
            print(f"  mesh: connections per peer {min(counts)} to {max(counts)}", flush=True)
            print(f"  {idle_share(peers, idle_seconds)}", flush=True)
            for rate in rates:
                results.append(one_rate(author, others, rate, seconds))
                f = results[-1]
                print(
                    f"  peerclass {rate:>3}/s: median {f.median_ms:.1f} ms, p99 {f.p99_ms:.1f}"
                    f" ms, max {f.max_ms:.1f} ms, undelivered {f.undelivered}, copies per "
                    f"delivery {f.copies:.2f}, {f.bytes_per_delivery:,.0f} B per delivery; CPU "
                    f"{fmt(f.cpu_receive_ms, '.2f')} ms per received, "
                    f"{fmt(f.cpu_author_ms, '.2f')} ms per authored; early {f.early}; {f.load}",
                    flush=True,
                )
        finally:
            for p in peers:
                p.stop()
    return results


def wait_author_seq(author: BenchPeer, at_least: int) -> int:
    """The author's head once it reached ``at_least`` (its console appends asynchronously)."""
    wait_for(lambda: head_of(author.data_dir, author.author) >= at_least, 30)
    return head_of(author.data_dir, author.author)


def wait_all(peers: list[BenchPeer], author: str, seq: int, timeout: float) -> float | None:
    return wait_for(lambda: all(head_of(p.data_dir, author) >= seq for p in peers), timeout)


def one_rate(author: BenchPeer, others: list[BenchPeer], rate: int, seconds: float) -> Figures:
    everyone = [author, *others]
    before = [p.snapshot() for p in everyone]
    cpu_before = [p.cpu_seconds() for p in everyone]
    first = head_of(author.data_dir, author.author) + 1
    count = int(rate * seconds)
    typed: list[float] = []
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        typed.append(time.time())
        author.console.type(f"{i} {PAD}")
    last = first + count - 1
    wait_author_seq(author, last)
    wait_all(others, author.author, last, DELIVERY_TIMEOUT)
    cpu = [p.cpu_seconds() - b for p, b in zip(everyone, cpu_before, strict=True)]
    after = [p.snapshot() for p in everyone]
    keys = [f"{author.author}:{s}" for s in range(first, last + 1)]
    authored = after[0]["authored_at"]
    latencies, undelivered, lags, from_commit, to_first, early = [], 0, [], [], [], 0
    for i, key in enumerate(keys):
        arrivals = [a["stored_at"].get(key) for a in after[1:]]
        if key not in authored or None in arrivals:
            undelivered += 1
            continue
        latencies.append((max(arrivals) - typed[i]) * 1000)
        from_commit.append((max(arrivals) - authored[key]) * 1000)
        to_first.append((min(arrivals) - authored[key]) * 1000)
        lags.append((authored[key] - typed[i]) * 1000)
        early += min(arrivals) < authored[key]
    per_received = [
        c * 1000 / delta(a, b, "stored")
        for c, a, b in zip(cpu[1:], after[1:], before[1:], strict=True)
        if delta(a, b, "stored")
    ]
    useful = count * len(others) - undelivered * len(others)
    received = sum(delta(a, b, "received") for a, b in zip(after, before, strict=True))
    wire = sum(delta(a, b, "bytes_in") for a, b in zip(after, before, strict=True))
    return Figures(
        rate=rate,
        sent=count,
        median_ms=median(latencies),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies, default=float("nan")),
        undelivered=undelivered,
        copies=received / useful if useful else None,
        bytes_per_delivery=wire / useful if useful else None,
        author_lag_ms=median(lags),
        commit_to_last_ms=median(from_commit),
        commit_to_first_ms=median(to_first),
        cpu_receive_ms=median(per_received),
        cpu_author_ms=cpu[0] * 1000 / count,
        early=early,
        load=load_note(),
    )


# ---- ZeroMQ PUB/SUB, the same shape --------------------------------------------------------

SUBSCRIBER = r"""
import json, sys, time, zmq
endpoint, out, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"")
sub.connect(endpoint)
got = {}
ready = False
while len(got) < expected:
    if not sub.poll(30_000):
        break
    msg = sub.recv()
    now = time.time()
    if msg.startswith(b"warm"):
        if not ready:
            open(out + ".ready", "w").close()
            ready = True
        continue
    seq, sent = msg.split(b" ", 2)[:2]
    got[int(seq)] = now - float(sent)
json.dump(got, open(out, "w"))
"""


def run_zmq(receivers: int, rates: list[int], seconds: float) -> list[Figures]:
    import zmq

    results = []
    with tempfile.TemporaryDirectory(prefix="peerclass-zmq-") as tmp:
        for rate in rates:
            count = int(rate * seconds)
            ctx = zmq.Context()
            pub = ctx.socket(zmq.PUB)
            port = pub.bind_to_random_port("tcp://127.0.0.1")
            outs = [Path(tmp) / f"{rate}-{i}.json" for i in range(receivers)]
            subs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        SUBSCRIBER,
                        f"tcp://127.0.0.1:{port}",
                        str(o),
                        str(count),
                    ]
                )
                for o in outs
            ]
            try:
                deadline = time.monotonic() + 30
                while not _all_ready(outs) and time.monotonic() < deadline:
                    pub.send(b"warm")
                    time.sleep(0.05)
                start = time.monotonic()
                for i in range(count):
                    delay = start + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    pub.send(f"{i} {time.time():.6f} {PAD}".encode())
                for s in subs:
                    s.wait(60)
            finally:
                for s in subs:
                    if s.poll() is None:
                        s.kill()
                        s.wait()
                pub.close(linger=0)
                ctx.term()
            got = [json.loads(o.read_text()) if o.exists() else {} for o in outs]
            latencies, undelivered = [], 0
            for i in range(count):
                arrivals = [g.get(str(i)) for g in got]
                if None in arrivals:
                    undelivered += 1
                else:
                    latencies.append(max(arrivals) * 1000)
            results.append(
                Figures(
                    rate,
                    count,
                    median(latencies),
                    percentile(latencies, 0.99),
                    max(latencies, default=float("nan")),
                    undelivered,
                )
            )
    return results


def _all_ready(outs: list[Path]) -> bool:
    return all(Path(f"{o}.ready").exists() for o in outs)


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None or value != value else format(value, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receivers", type=int, default=10)
    parser.add_argument("--rates", type=int, nargs="+", default=[5, 20, 100])
    parser.add_argument("--seconds", type=float, default=10.0, help="per rate")
    parser.add_argument("--no-zmq", action="store_true", help="skip the ZeroMQ comparison")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU to time")
    args = parser.parse_args()
    if not 1 <= args.receivers <= 40 or not all(1 <= r <= 1000 for r in args.rates):
        parser.error("--receivers must be 1 to 40 and each rate 1 to 1000 messages/s")
    if not 0 < args.seconds <= 120:
        parser.error("--seconds must be more than 0 and at most 120")
    print(load_note(), flush=True)
    print(f"fan-out: 1 author, {args.receivers} receivers, {args.seconds:g} s per rate", flush=True)
    if not 1 <= args.idle <= 300:
        parser.error("--idle must be 1 to 300 seconds")
    ours = run_peerclass(args.receivers, args.rates, args.seconds, args.idle)
    theirs: list[Figures] = []
    if not args.no_zmq:
        try:
            theirs = run_zmq(args.receivers, args.rates, args.seconds)
        except ImportError:
            print("  (pyzmq is not installed: pip install '.[bench]' for the comparison)")
    print()
    print("typed to stored by the last receiver (ms)   peerclass           ZeroMQ PUB/SUB (send)")
    print(
        f"{'rate':>6} {'sent':>5} | {'median':>7} {'p99':>7} {'max':>7} {'lost':>4} {'copies':>6} "
        f"{'B/deliv':>7} | {'median':>6} {'p99':>6} {'max':>6} | {'median ratio':>12}"
    )
    for i, f in enumerate(ours):
        z = theirs[i] if i < len(theirs) else None
        ratio = f.median_ms / z.median_ms if z and z.median_ms else None
        print(
            f"{f.rate:>4}/s {f.sent:>5} | {fmt(f.median_ms):>7} {fmt(f.p99_ms):>7} "
            f"{fmt(f.max_ms):>7} {f.undelivered:>4} {fmt(f.copies, '.2f'):>6} "
            f"{fmt(f.bytes_per_delivery, ',.0f'):>7} | "
            f"{fmt(z.median_ms if z else None, '.2f'):>6} {fmt(z.p99_ms if z else None, '.2f'):>6} "
            f"{fmt(z.max_ms if z else None, '.2f'):>6} | {fmt(ratio, ',.0f'):>11}x"
        )
    print(
        "(median ms typed to the author's commit / its commit to the first / the last "
        "receiver's store: "
        + ", ".join(
            f"{f.rate}/s {fmt(f.author_lag_ms)} / {fmt(f.commit_to_first_ms)} / "
            f"{fmt(f.commit_to_last_ms)}"
            for f in ours
        )
        + ")"
    )
    print(
        "(CPU per live event, ms, received (median over receivers) / authored: "
        + ", ".join(
            f"{f.rate}/s {fmt(f.cpu_receive_ms, '.2f')} / {fmt(f.cpu_author_ms, '.2f')}"
            for f in ours
        )
        + "; lines stored by a receiver before the author's commit: "
        + ", ".join(f"{f.rate}/s {f.early}" for f in ours)
        + ")"
    )
    print(load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
