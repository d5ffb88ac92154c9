"""Whether other members hear *us* (issue 21, ``peerclass doctor``): each member says in its
``addrs`` frame by which ways it hears the peer at the other end of the link, so a peer whose
beacons go out but never arrive (broadcast passing one way only, as an access point isolating
its clients may do) is told so, and what to do.

The wire field is optional both ways (older peers neither send nor read it); the doctor's
wording is tested on documents; two real nodes on loopback, with broadcast carried one way
only by a relay, each learn what the other hears.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trio

from peer.errors import ProtocolError
from peer.log import pack
from peer.net import diagnose
from peer.net._gossip import Gossip
from peer.net._reach import Reach
from peer.net._sync import AddressesHeard, SyncMachine
from peer.net._wire import Addrs, decode, encode
from peer.testing import LOOPBACK_BROADCAST, free_udp_port
from tests.fixtures_core import wait_for
from tests.helpers import make_class
from tests.net.test_node import config, running
from tests.net.test_sync import drain, sent
from tests.net.test_wire import payload

TIMEOUT = 40
A_HEX, B_HEX = "aa" * 32, "bb" * 32


def test_hears_rides_the_addrs_frame_and_is_optional() -> None:
    assert decode(payload(encode(Addrs([b"r"], {"beacon": True, "mdns": False})))) == Addrs(
        [b"r"], {"beacon": True, "mdns": False}
    )
    old = pack({"t": "addrs", "records": [b"r"]})
    assert decode(old) == Addrs([b"r"], None)  # an older peer does not say
    for bad in ({"beacon": 1}, ["beacon"], {f"w{i}": True for i in range(5)}, {"x" * 17: True}):
        with pytest.raises(ProtocolError, match="addrs hears"):
            decode(pack({"t": "addrs", "records": [], "hears": bad}))


def test_the_sync_machine_sends_and_hands_over_hears_even_without_records() -> None:
    m = SyncMachine(Gossip(b"\x01" * 32), 0.0, 0)
    drain(m, 0.0)
    m.offer_addresses([], {"beacon": False})
    assert sent(drain(m, 0.0)) == [Addrs([], {"beacon": False})]
    assert m.received(Addrs([], {"beacon": True}), 1.0) == [AddressesHeard([], {"beacon": True})]
    assert m.received(Addrs([], None), 1.0) == []  # nothing said, nothing to hand over


def test_reach_says_which_ways_heard_within_their_windows() -> None:
    reach = Reach()
    peer = b"\x02" * 32
    assert reach.heard_way(peer, "beacon", 100.0, 10.0)  # news: tell the member now
    assert not reach.heard_way(peer, "beacon", 105.0, 10.0)
    assert reach.hears(peer, {"beacon": 10.0, "mdns": 150.0}, 114.0) == {
        "beacon": True,
        "mdns": False,
    }
    assert reach.hears(peer, {"beacon": 10.0}, 116.0) == {"beacon": False}
    reach.heard_by(peer, {"beacon": True, "smoke-signals": True})
    assert reach.hears_us[peer] == {"beacon": True}


def _doc(hears_us: dict[str, dict[str, bool] | None], mdns: str = "off") -> dict[str, object]:
    return {
        "interfaces": [{"name": "wlan0", "address": "10.0.0.2", "broadcast": "10.0.0.255"}],
        "listen": ["10.0.0.2:4000"],
        "beacons": "on",
        "mdns": mdns,
        "heard": [],
        "unreachable": [],
        "connected": [
            {"peer": p, "address": "10.0.0.9:4000", "skew_ms": None, "hears_us": h}
            for p, h in hears_us.items()
        ],
    }


def test_the_doctor_says_whether_our_beacons_come_back_and_what_one_way_means() -> None:
    found = diagnose(_doc({A_HEX: {"beacon": True}, B_HEX: {"beacon": False}}))
    assert any(
        f.level == "ok" and "our beacons come back: 1 of 2 connected member(s)" in f.text
        for f in found
    )
    one_way = [
        f
        for f in diagnose(_doc({A_HEX: {"beacon": False}}, mdns="on"), lambda h: "Kim")
        if "not heard" in f.text
    ]
    assert len(one_way) == 1 and one_way[0].level == "warn"
    assert "(Kim)" in one_way[0].text and "UDP broadcast one way only" in one_way[0].text
    assert "isolating its clients" in one_way[0].text and "--peer HOST:PORT" in one_way[0].text
    # mDNS is on, but the member did not say (it listens by beacons only): not known.
    assert any(
        f.level == "info" and "mDNS announcements is not known yet" in f.text
        for f in diagnose(_doc({A_HEX: {"beacon": False}}, mdns="on"))
    )
    # The doctor's own probe sends no beacon: it says so rather than guess.
    probe = diagnose({**_doc({}), "probe": True, "connected": []})
    assert any(f.level == "info" and "this probe sends none" in f.text for f in probe)


async def _relay(from_port: int, to_port: int) -> None:
    """Broadcast carried one way only: every datagram on ``from_port`` is broadcast again
    on ``to_port``, never the other way."""
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        await sock.bind(("", from_port))
        while True:
            data = await sock.recv(2048)
            await sock.sendto(data, (LOOPBACK_BROADCAST, to_port))


async def test_a_member_that_does_not_hear_our_beacons_says_so(tmp_path: Path) -> None:
    """A hears B's beacons (relayed from B's port to A's); B never hears A's. A dials B; each
    says what it hears of the other, so A's doctor says its beacons do not come back and B's
    that its do."""
    dirs = make_class(tmp_path, students=1)
    a_port, b_port = free_udp_port(), free_udp_port()
    configs = [
        config(discovery=True, discovery_port=a_port, reach_interval=0.2),
        config(discovery=True, discovery_port=b_port, reach_interval=0.2),
    ]
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_relay, b_port, a_port)
            async with running(dirs.all, configs) as (a, b):
                a_id, b_id = a.node.membership.peer_id, b.node.membership.peer_id

                async def both_said() -> bool:
                    return a.node.reach.hears_us.get(b_id) == {
                        "beacon": False
                    } and b.node.reach.hears_us.get(a_id) == {"beacon": True}

                await wait_for(both_said)
                docs = [
                    n.node.reach.doc(
                        interfaces=[],
                        connected=dict(n.node.mesh.addresses),
                        refused_records={},
                        at_ms=0,
                    )
                    for n in (a, b)
                ]
            nursery.cancel_scope.cancel()
    a_says = [f for f in diagnose(docs[0]) if "our beacons" in f.text]
    b_says = [f for f in diagnose(docs[1]) if "our beacons" in f.text]
    assert [f.level for f in a_says] == ["warn"] and "one way only" in a_says[0].text
    assert [f.level for f in b_says] == ["ok"] and "come back: 1 of 1" in b_says[0].text
