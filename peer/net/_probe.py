"""The doctor's own look at the network while no peer runs on the data dir (issue 21).

It listens for the class's beacons for a few seconds, then tries the TCP port of each member
it heard and of the invite's addresses: beacons heard but ports unreachable is what client
isolation or a firewall looks like. It sends no beacon and no mDNS query (nobody should dial
a doctor), only those connection attempts, each closed at once.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import trio

from peer.identity import Membership
from peer.net import _discovery as discovery
from peer.net._interfaces import broadcast_interfaces
from peer.net._reach import Reach

#: How long one TCP connection attempt may take.
CONNECT_TIMEOUT = 2.0


async def probe_reach(membership: Membership, discovery_port: int, wait: float) -> dict[str, Any]:
    """A reach document (the shape the running node records) from ``wait`` seconds of
    listening on ``discovery_port`` and one connection attempt per address heard."""
    reach = Reach(beacons="listening", mdns="not probed")
    beacon_filter = discovery.BeaconFilter(
        discovery.beacon_key(membership.klass.secret),
        membership.peer_id,
        os.urandom(discovery.INSTANCE_SIZE),
        int(time.time() * 1000),
    )
    targets: dict[tuple[str, int], bytes | None] = {}

    def on_beacon(beacon: discovery.Beacon, host: str) -> None:
        skew = beacon.sent_ms - int(time.time() * 1000)
        reach.heard_from(beacon.peer_id, f"{host}:{beacon.port}", "beacon", skew)
        targets[(host, beacon.port)] = beacon.peer_id

    try:
        with trio.move_on_after(wait):
            await discovery.receive_beacons(beacon_filter, discovery_port, on_beacon)
    except OSError as exc:  # the port cannot be bound (not shared): say so, go on
        reach.beacons = f"not heard: UDP port {discovery_port}: {exc.strerror or exc}"
    for address in membership.klass.addresses:
        targets.setdefault(address, membership.klass.instructor)
    async with trio.open_nursery() as nursery:
        for address, peer_id in targets.items():
            nursery.start_soon(functools.partial(_try_connect, reach, address, peer_id))
    interfaces = [
        {"name": i.name, "address": i.address, "broadcast": i.broadcast}
        for i in broadcast_interfaces()
    ]
    doc = reach.doc(
        interfaces=interfaces, connected={}, refused_records={}, at_ms=int(time.time() * 1000)
    )
    doc["probe"] = True
    doc["reachable"] = sorted(
        f"{h}:{p}" for (h, p) in targets if f"{h}:{p}" not in reach.unreachable
    )
    return doc


async def _try_connect(reach: Reach, address: tuple[str, int], peer_id: bytes | None) -> None:
    where = f"{address[0]}:{address[1]}"
    try:
        with trio.fail_after(CONNECT_TIMEOUT):
            stream = await trio.open_tcp_stream(*address)
    except trio.TooSlowError:
        reach.could_not_reach(where, "no answer (dropped by the network?)", peer_id)
        return
    except OSError as exc:
        reach.could_not_reach(where, exc.strerror or str(exc), peer_id)
        return
    await stream.aclose()
