"""A late joiner in a busy class on a LAN of namespaces (issue 21): five peers already hold
about 5,000 events; a sixth student starts, meshes with all five, and holds every event,
served about once (not once per link). Each peer is a ``peerclass run`` in its own namespace
on one bridge; the joiner runs under the benches' counting wrapper (``bench/_probe.py``), so
every event handed to its store counts, duplicates included.

The history is built with the store API before any peer starts (typing 5,000 lines would
test the console, not the joiner). Time-to-mesh is measured and printed, never asserted.

Slow: deselect with ``-m "not slow"``; CI runs it.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.identity import load_membership
from peer.testing import PeerProcess, heads, wait_until
from storage import Store
from tests.helpers import make_class
from tests.net.test_netns_ways import DISCOVERY_PORT, _in_parallel
from tests.netns import Namespaces, netns_unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable())),
]

PROBE = [sys.executable, str(Path(__file__).resolve().parents[2] / "bench" / "_probe.py")]
EACH = 1_000  # events each of the five members authors: 5,000 in all


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    with Namespaces() as ns:
        yield ns


def _busy_history(members: list[Path]) -> dict[str, int]:
    """Each member authors EACH chat lines, then all five hold everyone's (the store API:
    what two minutes of a busy class leaves behind, built in seconds)."""
    stores = [Store.open(d) for d in members]
    try:
        for d, store in zip(members, stores, strict=True):
            key = load_membership(d).signing_key
            store.append_many(
                key, [("chat", {"room": "general", "text": f"line {i}"}) for i in range(EACH)]
            )
        for source in stores:  # after one pass each, all five hold the same
            for author in source.heads():
                events = source.events_range(author, 0, 100_000)
                for target in stores:
                    if target is not source:
                        target.ingest(events)
        return {a.hex(): s for a, s in stores[0].heads().items()}
    finally:
        for store in stores:
            store.close()


def _connected(data_dir: Path) -> set[str]:
    store = Store.open(data_dir)
    try:
        return {r.id.hex() for r in store.peer_records() if r.connected}
    finally:
        store.close()


def test_a_late_joiner_meshes_and_is_served_once(tmp_path: Path, namespaces: Namespaces) -> None:
    ns = namespaces
    klass = make_class(tmp_path, students=5)
    members, joiner = klass.all[:5], klass.all[5]
    full = _busy_history(members)
    assert sum(full.values()) >= 5 * EACH
    before = heads(joiner)
    needed = sum(max(0, seq - before.get(a, 0)) for a, seq in full.items())
    hub = ns.add("hub")
    ns.bridge(hub, "br0")
    where = []
    for i in range(6):
        peer_ns = ns.add(f"p{i}")
        ns.link(peer_ns, "eth0", f"10.84.0.{i + 1}/24", hub, f"port{i}", None)
        ns.attach(hub, f"port{i}", "br0")
        where.append(peer_ns)
    procs = [
        PeerProcess(d, DISCOVERY_PORT, ["--no-mdns"], netns=where[i]) for i, d in enumerate(members)
    ]
    late = PeerProcess(joiner, DISCOVERY_PORT, ["--no-mdns"], launcher=PROBE, netns=where[5])
    ids = {load_membership(d).peer_id.hex() for d in members}
    try:
        _in_parallel(*(functools.partial(p.start, timeout=90) for p in procs))
        started = time.monotonic()  # from the joiner's process start, start-up included
        late.start(timeout=90)
        wait_until(lambda: ids <= _connected(joiner), 120, "the joiner to connect to all five")
        meshed = time.monotonic() - started

        def holds_everything() -> bool:
            held = heads(joiner)
            return all(held.get(a, 0) >= seq for a, seq in full.items())

        wait_until(holds_everything, 180, "the joiner to hold every event")
        caught_up = time.monotonic() - started
        assert late.stop() == 0
        # The wrapper's counters, written as it exits (bench/_probe.py's PROBE_FILE).
        probe = json.loads((joiner / "probe.json").read_text())
    finally:
        for proc in [*procs, late]:
            proc.kill()
    print(
        f"late joiner: meshed with 5 peers in {meshed:.1f}s, held all {needed} events it "
        f"lacked in {caught_up:.1f}s, received {probe['received']} "
        f"({probe['received'] / needed:.2f} per event stored)"
    )
    assert probe["stored"] >= needed
    # Served about once: five full serves would be about 5 * needed.
    assert probe["received"] <= 1.5 * needed, (probe["received"], needed)
