"""Ways into a class beside beacons, with real nodes on loopback (issue 21): the invite's
addresses of the instructor, and peer exchange, which makes reaching one member find the
rest. No beacon is sent in these tests (``discovery`` off)."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from peer.identity import CLASS_FILE, parse_invite
from peer.net import NodeConfig
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
