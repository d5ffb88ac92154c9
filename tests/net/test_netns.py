"""Peers on a real (virtual) LAN: each `peerclass run` in its own network namespace, all
joined by a bridge in another namespace this test makes (10.77.0.0/24 exists only in there).
They find each other by subnet broadcast with no --discovery-addr and no --peer, and find each
other again after a partition that heals once every peer has run for over two minutes (when
a beacon built once at start-up would long be refused as a replay).

Slow (under 3 minutes): deselect with ``-m "not slow"``; CI runs it.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peer.identity import load_membership
from peer.testing import PeerProcess, converged, peerclass_command, wait_converged, wait_until
from storage import Store
from tests.helpers import make_class
from tests.netns import Namespaces, netns_unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable())),
]

PEERS = 3
DISCOVERY_PORT = 47474  # the default; each namespace has its own
#: The partition starts this long after every peer runs, and heals after MAX_BEACON_AGE
#: (120 s) plus a margin; it outlasts the idle timeout, so connections across it do end.
CUT_AT = 40.0
HEAL_AT = 125.0


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    with Namespaces() as ns:
        yield ns


def _cli(ns: Namespaces, where: str, data_dir: Path, *args: str) -> Any:
    """A ``peerclass`` command run inside the peer's namespace (so its wake-up reaches it)."""
    done = subprocess.run(
        [*ns.command(where), *peerclass_command(data_dir, *args)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout) if "--json" in args else done.stdout


def _connected(data_dir: Path) -> set[str]:
    """Whom the running peer on ``data_dir`` is connected to (what ``peers`` shows)."""
    store = Store.open(data_dir)
    try:
        return {r.id.hex() for r in store.peer_records() if r.connected}
    finally:
        store.close()


def _in_parallel(*calls: Callable[[], object]) -> list[object]:
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _logs(data_dir: Path) -> list[str]:
    return [
        line
        for name in ("peerclass.log", "run.log")
        if (data_dir / name).exists()
        for line in (data_dir / name).read_text().splitlines()
    ]


def test_peers_on_a_bridge_discover_each_other_and_heal_a_partition_after_two_minutes(
    tmp_path: Path, namespaces: Namespaces
) -> None:
    ns = namespaces
    klass = make_class(tmp_path, students=PEERS - 1)
    hub = ns.add("hub")
    ns.bridge(hub, "br0")
    where: list[str] = []
    for i in range(PEERS):
        peer_ns = ns.add(f"p{i}")
        ns.link(peer_ns, "eth0", f"10.77.0.{i + 1}/24", hub, f"port{i}", None)
        ns.attach(hub, f"port{i}", "br0")
        where.append(peer_ns)
    ids = [load_membership(d).peer_id.hex() for d in klass.all]
    procs = [PeerProcess(d, DISCOVERY_PORT, netns=where[i]) for i, d in enumerate(klass.all)]
    try:
        _in_parallel(*(functools.partial(proc.start, timeout=90) for proc in procs))
        started = time.monotonic()
        _in_parallel(
            *(
                functools.partial(_cli, ns, where[i], d, "chat", "send", f"hello from peer {i}")
                for i, d in enumerate(klass.all)
            )
        )
        wait_converged(klass.all, timeout=40)
        wait_until(
            lambda: all(_connected(d) == set(ids) - {ids[i]} for i, d in enumerate(klass.all)),
            20,
            "every peer to be connected to every other",
        )

        # Cut the last peer off the bridge; both sides go on writing.
        time.sleep(max(0.0, started + CUT_AT - time.monotonic()))
        ns.run(hub, "ip", "link", "set", f"port{PEERS - 1}", "down")
        first, cut = klass.all[0], klass.all[-1]
        _cli(ns, where[0], first, "chat", "send", "while the link is down (A)")
        _cli(ns, where[-1], cut, "chat", "send", "while the link is down (B)")
        wait_until(
            lambda: ids[-1] not in _connected(first),
            70,
            "the first peer to notice the cut link",
        )
        assert not converged(klass.all)

        # Heal after every peer has run for over two minutes.
        time.sleep(max(0.0, started + HEAL_AT - time.monotonic()))
        ns.run(hub, "ip", "link", "set", f"port{PEERS - 1}", "up")
        healed = time.monotonic()
        wait_converged(klass.all, timeout=45)
        print(f"converged {time.monotonic() - healed:.1f}s after the link came back")
        texts = {m["text"] for m in _cli(ns, where[1], klass.all[1], "chat", "log", "--json")}
        assert {"while the link is down (A)", "while the link is down (B)"} <= texts
        assert _in_parallel(*(proc.stop for proc in procs)) == [0] * PEERS
    finally:
        for proc in procs:
            proc.kill()
    for i, d in enumerate(klass.all):
        lines = _logs(d)
        beacon_lines = [line for line in lines if "beacon" in line]
        # No line per dropped datagram: at most the start-up line and a summary or two.
        assert len(beacon_lines) <= 6, beacon_lines
        assert not any("Traceback" in line for line in lines), d
        assert any("sending beacons to 10.77.0.255" in line for line in lines), (i, lines[:20])
