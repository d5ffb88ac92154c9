"""Broadcast that passes one way only (issue 21), each peer a ``peerclass run`` in its own
network namespace on one bridge: the student hears the instructor's beacons, the instructor
never hears the student's, and ``peerclass doctor`` on each side says so from the other's
word (the student's: its beacons are not heard by the member it reaches, and what to do; the
instructor's: its beacons come back).

The one-way loss is made by sending the student's beacons to an address on the bridge where
nobody is (``--discovery-addr``): this kernel's tc has no classifier to drop them on the way
out, and no bridge setting isolates one direction only. What the doctor is tested on, the
members' word about what they hear, is the same either way.

Slow: deselect with ``-m "not slow"``; CI runs it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.testing import PeerProcess, wait_converged, wait_until
from tests.helpers import make_class
from tests.net.test_netns_ways import DISCOVERY_PORT, _doctor, _in_parallel, _send
from tests.netns import Namespaces, netns_unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable())),
]


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    with Namespaces() as ns:
        yield ns


def test_a_student_whose_beacons_nobody_hears_is_told_so(
    tmp_path: Path, namespaces: Namespaces
) -> None:
    ns = namespaces
    klass = make_class(tmp_path, students=1)
    hub = ns.add("hub")
    ns.bridge(hub, "br0")
    where = []
    for i in range(2):
        peer_ns = ns.add(f"p{i}")
        ns.link(peer_ns, "eth0", f"10.85.0.{i + 1}/24", hub, f"port{i}", None)
        ns.attach(hub, f"port{i}", "br0")
        where.append(peer_ns)
    teacher = PeerProcess(klass.instructor, DISCOVERY_PORT, ["--no-mdns"], netns=where[0])
    student = PeerProcess(
        klass.students[0],
        DISCOVERY_PORT,
        ["--no-mdns", "--discovery-addr", "10.85.0.200"],  # nobody there: lost on the way
        netns=where[1],
    )
    try:
        _in_parallel(*(functools.partial(p.start, timeout=90) for p in (teacher, student)))
        _send(ns, where[1], klass.students[0], "heard one way")
        wait_converged(klass.all, timeout=60)  # the student heard the instructor and dialed

        def said(where_: str, data_dir: Path, level: str, text: str) -> bool:
            report = _doctor(ns, where_, data_dir)
            return any(f["level"] == level and text in f["text"] for f in report["findings"])

        wait_until(
            lambda: said(where[1], klass.students[0], "warn", "our beacons are not heard"),
            60,
            "the student's doctor to say its beacons are not heard",
        )
        wait_until(
            lambda: said(where[0], klass.instructor, "ok", "our beacons come back: 1 of 1"),
            60,
            "the instructor's doctor to say its beacons come back",
        )
        teacher_heard = _doctor(ns, where[0], klass.instructor)["reach"]["heard"]
        assert all(h["via"] != "beacon" for h in teacher_heard)  # one way indeed
        report = _doctor(ns, where[1], klass.students[0])
        text = " ".join(f["text"] for f in report["findings"])
        assert "one way only" in text and "--peer HOST:PORT" in text
    finally:
        for proc in (teacher, student):
            proc.kill()
