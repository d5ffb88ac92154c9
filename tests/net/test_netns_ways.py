"""Ways into a class on real (virtual) networks, each peer a ``peerclass run`` in its own
network namespace, every link and 10.x address inside namespaces this test makes (issue 21):

- two subnets joined by a router (broadcast does not cross it): the instructor and a student
  on one, a student on the other; every student converges with the whole class through the
  invite's addresses and peer exchange, and the student across the router learns its
  classmate by it;
- a bridge whose student ports are isolated (as school Wi-Fi isolates clients): students
  reach the instructor but not each other, and ``peerclass doctor`` says so and what to do;
- two peers with beacons off find each other by mDNS.

Slow: deselect with ``-m "not slow"``; CI runs them.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peer.identity import CLASS_FILE, load_membership, parse_invite
from peer.testing import PeerProcess, peerclass_command, wait_converged, wait_until
from storage import Store
from tests.helpers import make_class, pc_ok
from tests.netns import Namespaces, netns_unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable())),
]

DISCOVERY_PORT = 47474  # the default; each namespace has its own


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    with Namespaces() as ns:
        yield ns


def _doctor(ns: Namespaces, where: str, data_dir: Path) -> dict[str, Any]:
    """``peerclass doctor --json`` in the peer's namespace (it reads the running peer)."""
    done = subprocess.run(
        [*ns.command(where), *peerclass_command(data_dir, "doctor", "--json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _send(ns: Namespaces, where: str, data_dir: Path, text: str) -> None:
    subprocess.run(
        [*ns.command(where), *peerclass_command(data_dir, "chat", "send", text)],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _reach(data_dir: Path) -> dict[str, Any]:
    store = Store.open(data_dir)
    try:
        text = store.reach()
    finally:
        store.close()
    return json.loads(text) if text else {}


def _in_parallel(*calls: Callable[[], object]) -> list[object]:
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _invite_addresses(instructor: Path, students: list[Path], subnet: str) -> None:
    """Wait for the running instructor's recorded address, then hand its students the invite
    ``peerclass invite`` makes now (what ``init --invite`` would keep of it)."""
    wait_until(
        lambda: any(a.startswith(subnet) for a in _reach(instructor).get("listen", [])),
        30,
        "the instructor's peer to record its address",
    )
    klass, _token = parse_invite(pc_ok(instructor, "invite").out.strip())
    assert klass.addresses and f"{klass.addresses[0][0]}:".startswith(subnet)
    for student in students:
        path = student / CLASS_FILE
        doc = json.loads(path.read_text())
        doc["addresses"] = [f"{h}:{p}" for h, p in klass.addresses]
        path.write_text(json.dumps(doc))


def test_students_on_two_subnets_behind_a_router_converge_with_the_whole_class(
    tmp_path: Path, namespaces: Namespaces
) -> None:
    ns = namespaces
    klass = make_class(tmp_path, students=2)
    router = ns.add("rt")
    ns.run(router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    for bridge, gateway in (("bra", "10.81.1.254/24"), ("brb", "10.81.2.254/24")):
        ns.bridge(router, bridge)
        ns.run(router, "ip", "addr", "add", gateway, "brd", "+", "dev", bridge)
    # The instructor and one student on subnet a; another student on subnet b.
    layout = [("a", 1), ("a", 2), ("b", 1)]
    where = []
    for i, (subnet, host) in enumerate(layout):
        peer_ns = ns.add(f"p{i}")
        net = "1" if subnet == "a" else "2"
        ns.link(peer_ns, "eth0", f"10.81.{net}.{host}/24", router, f"port{i}", None)
        ns.attach(router, f"port{i}", f"br{subnet}")
        ns.run(peer_ns, "ip", "route", "add", "default", "via", f"10.81.{net}.254")
        where.append(peer_ns)
    teacher = PeerProcess(klass.instructor, DISCOVERY_PORT, netns=where[0])
    students = [
        PeerProcess(d, DISCOVERY_PORT, netns=where[i + 1]) for i, d in enumerate(klass.students)
    ]
    try:
        teacher.start(timeout=90)
        _invite_addresses(klass.instructor, klass.students, "10.81.1.1:")
        _in_parallel(*(functools.partial(s.start, timeout=90) for s in students))
        _in_parallel(
            *(
                functools.partial(_send, ns, where[i], d, f"hello from {i}")
                for i, d in enumerate(klass.all)
            )
        )
        wait_converged(klass.all, timeout=60)
        # Across the router no beacon passes: the students met through a member's record.
        one, two = (load_membership(d).peer_id.hex() for d in klass.students)
        wait_until(
            lambda: any(
                h["peer"] == other and h["via"] == "exchange"
                for d, other in ((klass.students[0], two), (klass.students[1], one))
                for h in _reach(d).get("heard", [])
            ),
            # Two full exchange rounds (NodeConfig.exchange_interval, 30 s) and the reach
            # record's write (5 s): a loaded machine can miss the change-triggered send.
            75,
            "a student to learn the one across the router by peer exchange",
        )
        report = _doctor(ns, where[2], klass.students[1])
        assert report["running"] is True
        assert any(f["text"].startswith("connected to") for f in report["findings"])
        assert _in_parallel(*(p.stop for p in [teacher, *students])) == [0] * 3
    finally:
        for proc in [teacher, *students]:
            proc.kill()


def test_isolated_students_are_told_why_they_reach_only_the_instructor(
    tmp_path: Path, namespaces: Namespaces
) -> None:
    ns = namespaces
    klass = make_class(tmp_path, students=2)
    hub = ns.add("hub")
    ns.bridge(hub, "br0")
    where = []
    for i in range(3):
        peer_ns = ns.add(f"p{i}")
        ns.link(peer_ns, "eth0", f"10.82.0.{i + 1}/24", hub, f"port{i}", None)
        ns.attach(hub, f"port{i}", "br0")
        if i > 0:  # the students' ports: as an access point isolating its clients
            ns.run(hub, "bridge", "link", "set", "dev", f"port{i}", "isolated", "on")
        where.append(peer_ns)
    procs = [
        PeerProcess(d, DISCOVERY_PORT, ["--no-mdns"], netns=where[i])
        for i, d in enumerate(klass.all)
    ]
    try:
        _in_parallel(*(functools.partial(p.start, timeout=90) for p in procs))
        _send(ns, where[1], klass.students[0], "from one isolated student")
        wait_converged(klass.all, timeout=60)  # through the instructor's peer

        def diagnosed() -> bool:
            report = _doctor(ns, where[1], klass.students[0])
            return any(
                f["level"] == "fail" and "isolates its clients" in f["text"]
                for f in report["findings"]
            )

        wait_until(diagnosed, 60, "doctor to say the network isolates its clients")
        text = subprocess.run(
            [*ns.command(where[1]), *peerclass_command(klass.students[0], "doctor")],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert "10.82.0.3" in text and "--peer HOST:PORT" in text
    finally:
        for proc in procs:
            proc.kill()


def test_two_peers_with_beacons_off_find_each_other_by_mdns(
    tmp_path: Path, namespaces: Namespaces
) -> None:
    ns = namespaces
    klass = make_class(tmp_path, students=1)
    hub = ns.add("hub")
    ns.bridge(hub, "br0")
    where = []
    for i in range(2):
        peer_ns = ns.add(f"p{i}")
        ns.link(peer_ns, "eth0", f"10.83.0.{i + 1}/24", hub, f"port{i}", None)
        ns.attach(hub, f"port{i}", "br0")
        ns.run(peer_ns, "ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
        where.append(peer_ns)
    procs = [
        PeerProcess(d, DISCOVERY_PORT, ["--no-beacons"], netns=where[i])
        for i, d in enumerate(klass.all)
    ]
    try:
        _in_parallel(*(functools.partial(p.start, timeout=90) for p in procs))
        _send(ns, where[1], klass.students[0], "found by mDNS")
        wait_converged(klass.all, timeout=60)
        ids = [load_membership(d).peer_id.hex() for d in klass.all]

        def heard_by_mdns() -> bool:
            return any(
                h["peer"] == ids[1 - i] and h["via"] == "mdns"
                for i, d in enumerate(klass.all)
                for h in _reach(d).get("heard", [])
            )

        wait_until(heard_by_mdns, 30, "a peer to record the other as heard by mDNS")
        assert all(_reach(d)["beacons"].startswith("off") for d in klass.all)
        assert all(_reach(d)["mdns"] == "on" for d in klass.all)
    finally:
        for proc in procs:
            proc.kill()
