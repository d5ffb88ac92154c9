"""Ways into a class beside beacons, with real nodes on loopback (issue 21): the invite's
addresses of the instructor, and peer exchange, which makes reaching one member find the
rest. No beacon is sent in these tests (``discovery`` off)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import trio

from peer.cli._main import build_parser
from peer.identity import CLASS_FILE, parse_invite
from peer.net import NodeConfig
from peer.testing import LOOPBACK_BROADCAST, free_udp_port
from tests.fixtures_core import wait_for
from tests.helpers import make_class, pc_ok
from tests.net.test_node import config, converged, free_tcp_port, running

TIMEOUT = 40


def give_invite_addresses(data_dir: Path, addresses: list[str]) -> None:
    """What ``init --invite`` keeps of an invite that carried the instructor's addresses."""
    path = data_dir / CLASS_FILE
    doc = json.loads(path.read_text())
    doc["addresses"] = addresses
    path.write_text(json.dumps(doc))


async def test_students_who_hear_no_beacon_find_the_instructor_and_each_other(
    tmp_path: Path,
) -> None:
    """Two students with no beacons and no --peer dial the instructor at the invite's
    address, learn each other's address from it by peer exchange (signed by each student),
    connect to each other directly, and converge."""
    dirs = make_class(tmp_path, students=2)
    port = free_tcp_port()
    for student in dirs.students:
        give_invite_addresses(student, [f"127.0.0.1:{port}"])
    configs: list[NodeConfig] = [
        config(port=port),
        config(exchange_min_interval=0.2),
        config(exchange_min_interval=0.2),
    ]
    async with running(dirs.all, configs) as (teacher, one, two):
        with trio.fail_after(TIMEOUT):

            async def met() -> bool:
                return (
                    two.peer_id in one.node.mesh.connected()
                    and one.peer_id in two.node.mesh.connected()
                )

            await wait_for(met)
        heard = {**one.node.reach.heard, **two.node.reach.heard}
        assert heard[two.peer_id][1] == "exchange" or heard[one.peer_id][1] == "exchange"
        assert teacher.peer_id in one.node.mesh.connected()
        await one.store.append(one.node.membership.signing_key, "chat", {"room": "r", "text": "hi"})
        with trio.fail_after(TIMEOUT):

            async def all_converged() -> bool:
                return await converged([teacher, one, two])

            await wait_for(all_converged)


async def test_the_instructors_invite_carries_where_its_peer_listens(tmp_path: Path) -> None:
    """The running peer records where it listens; ``peerclass invite`` puts that in the
    invite, and a student's ``init`` keeps it."""
    dirs = make_class(tmp_path, students=0)
    port = free_tcp_port()
    async with running([dirs.instructor], [config(port=port, reach_interval=0.1)]) as (teacher,):
        with trio.fail_after(TIMEOUT):

            async def recorded() -> bool:
                text = await teacher.store.query(lambda store: store.reach())
                return text is not None and f"127.0.0.1:{port}" in json.loads(text)["listen"]

            await wait_for(recorded)
    invite = pc_ok(dirs.instructor, "invite").out.strip()
    klass, _token = parse_invite(invite)
    assert klass.addresses == (("127.0.0.1", port),)
    joiner = tmp_path / "joiner"
    pc_ok(joiner, "init", "--name", "Late", "--invite", invite)
    assert json.loads((joiner / CLASS_FILE).read_text())["addresses"] == [f"127.0.0.1:{port}"]


# ---- one way off at a time, and mDNS never on loopback -------------------------------------


def test_mdns_is_off_wherever_discovery_or_the_listener_is_on_loopback() -> None:
    on_loopback = "off (discovery is on loopback)"
    assert NodeConfig(discovery_addr=LOOPBACK_BROADCAST).mdns_off_reason() == on_loopback
    assert NodeConfig(bind="127.0.0.1").mdns_off_reason() == on_loopback
    assert NodeConfig(bind="::1").mdns_off_reason() == on_loopback
    assert NodeConfig(mdns=False).mdns_off_reason() == "off (--no-mdns or --no-discovery)"
    assert NodeConfig(discovery=False).mdns_off_reason() == "off (--no-mdns or --no-discovery)"
    assert NodeConfig(discovery_addr="10.0.0.255").mdns_off_reason() is None


async def test_a_node_on_loopback_finds_by_beacons_and_starts_no_zeroconf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import peer.net._mdns as mdns

    def no_zeroconf(*args: object, **kwargs: object) -> None:
        raise AssertionError("zeroconf was started on a loopback-configured node")

    monkeypatch.setattr(mdns, "Zeroconf", no_zeroconf)
    dirs = make_class(tmp_path, students=1)
    udp = free_udp_port()
    both = [config(discovery=True, discovery_port=udp, mdns=True)] * 2
    async with running(dirs.all, both) as (teacher, student):
        with trio.fail_after(TIMEOUT):

            async def met() -> bool:
                return student.peer_id in teacher.node.mesh.connected()

            await wait_for(met)
        for node in (teacher, student):
            assert node.node.reach.mdns == "off (discovery is on loopback)"
        assert teacher.node.reach.heard[student.peer_id][1] == "beacon"


async def test_no_beacons_leaves_the_beacon_port_unbound(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=0)
    udp = free_udp_port()
    quiet = config(discovery=True, beacons=False, discovery_port=udp)
    async with running([dirs.instructor], [quiet]) as (teacher,):
        assert teacher.node.reach.beacons.startswith("off")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("", udp))  # no SO_REUSEADDR: fails if the node had bound it


def test_the_run_flags_turn_off_one_way_each() -> None:
    parser = build_parser()
    args = parser.parse_args(["run", "--no-beacons", "--no-mdns", "--no-discovery"])
    assert (args.no_beacons, args.no_mdns, args.no_discovery) == (True, True, True)
    args = parser.parse_args(["run"])
    assert (args.no_beacons, args.no_mdns, args.no_discovery) == (False, False, False)
