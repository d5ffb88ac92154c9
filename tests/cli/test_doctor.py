"""``peerclass doctor`` (issue 21) on loopback: a member heard and reachable; a member whose
beacons are heard but whose TCP port is not (what client isolation looks like), said with what
to do; what a running peer recorded; and an unhealthy data dir."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import trio

from peer.identity import load_membership
from peer.net._discovery import beacon_key, encode_beacon
from peer.testing import LOOPBACK_BROADCAST, free_udp_port
from storage import Store
from tests.helpers import CliResult, make_class, pc
from tests.net.test_node import config, free_tcp_port, running

TIMEOUT = 30


async def doctor(data_dir: Path, *args: str) -> CliResult:
    """The command in a worker thread (it runs its own Trio loop while probing)."""
    return await trio.to_thread.run_sync(lambda: pc(data_dir, "doctor", *args))


async def test_a_member_heard_and_reachable_is_ok(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=1)
    udp = free_udp_port()
    teacher_config = config(discovery=True, discovery_port=udp)
    async with running([dirs.instructor], [teacher_config]) as (teacher,):
        with trio.fail_after(TIMEOUT):
            result = await doctor(
                dirs.students[0], "--json", "--wait", "2.5", "--discovery-port", str(udp)
            )
    assert result.code == 0, result.err
    report = result.json()
    assert report["running"] is False and report["source"] == "probe"
    heard = {h["peer"]: h for h in report["reach"]["heard"]}
    assert heard[teacher.peer_id.hex()]["via"] == "beacon"
    assert heard[teacher.peer_id.hex()]["address"] in report["reach"]["reachable"]
    assert all(f["level"] != "fail" for f in report["findings"])
    assert any("members heard: 1 by beacon" in f["text"] for f in report["findings"])
    # The probe sends no beacon, so it cannot say whether members hear ours: it says that.
    assert any(
        f["level"] == "info" and "known while `peerclass run` runs" in f["text"]
        for f in report["findings"]
    )


async def test_beacons_heard_but_tcp_unreachable_is_called_isolation_with_what_to_do(
    tmp_path: Path,
) -> None:
    dirs = make_class(tmp_path, students=1)
    teacher = load_membership(dirs.instructor)
    udp, closed = free_udp_port(), free_tcp_port()  # nobody listens on ``closed``
    key = beacon_key(teacher.klass.secret)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            outcome: list[CliResult] = []

            async def run_doctor() -> None:
                outcome.append(
                    await doctor(dirs.students[0], "--wait", "2", "--discovery-port", str(udp))
                )
                nursery.cancel_scope.cancel()

            nursery.start_soon(run_doctor)
            with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                while True:
                    beacon = encode_beacon(
                        key,
                        teacher.signing_key,
                        closed,
                        sent_ms=int(time.time() * 1000),
                        instance=os.urandom(8),
                    )
                    await sock.sendto(beacon, (LOOPBACK_BROADCAST, udp))
                    await trio.sleep(0.2)
    result = outcome[0]
    assert result.code == 1
    assert "problem members are heard but their TCP port cannot be reached" in result.out
    assert f"at 127.0.0.1:{closed}" in result.out
    assert "--peer HOST:PORT" in result.out and "overlay" in result.out


def test_with_the_peer_running_the_doctor_reads_what_it_recorded(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=1)
    teacher = load_membership(dirs.instructor).peer_id.hex()
    store = Store.open(dirs.students[0])
    try:
        store.set_running(os.getpid())
        store.set_reach(
            json.dumps(
                {
                    "at": int(time.time() * 1000),
                    "interfaces": [
                        {"name": "wlan0", "address": "10.1.2.3", "broadcast": "10.1.255.255"}
                    ],
                    "listen": ["10.1.2.3:4000"],
                    "beacons": "on",
                    "mdns": "off",
                    "heard": [
                        {"peer": teacher, "address": "10.1.2.9:4000", "via": "beacon", "skew_ms": 0}
                    ],
                    "unreachable": [
                        {"address": "10.1.2.9:4000", "peer": teacher, "error": "No route to host"}
                    ],
                    "connected": [],
                    "refused_records": {},
                }
            )
        )
    finally:
        store.close()
    result = pc(dirs.students[0], "doctor", "--json")
    assert result.code == 1
    report = result.json()
    assert report["running"] is True and report["source"] == "running peer"
    texts = [f["text"] for f in report["findings"]]
    assert any(t.startswith("network: wlan0 10.1.2.3") for t in texts)
    assert any(f"{teacher[:8]}" in t and "at 10.1.2.9:4000" in t and "isolates" in t for t in texts)


def test_a_data_dir_readable_by_others_is_a_problem(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=1)
    student = dirs.students[0]
    student.chmod(0o755)
    result = pc(student, "doctor", "--wait", "0.2", "--discovery-port", str(free_udp_port()))
    assert result.code == 1
    assert "problem readable by other users" in result.out and "chmod go-rwx" in result.out


def test_a_wait_out_of_bounds_is_one_clear_line(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=0)
    result = pc(dirs.instructor, "doctor", "--wait", "600")
    assert result.code == 1
    assert result.err.strip() == "peerclass: error: --wait must be between 0 and 60 seconds"


def test_a_reachable_member_not_hearing_our_beacons_is_told_with_what_to_do(
    tmp_path: Path,
) -> None:
    """The running peer recorded a connected member saying it does not hear our beacons
    (its ``addrs`` frame): broadcast passes one way only here, said with what to do."""
    dirs = make_class(tmp_path, students=1)
    teacher = load_membership(dirs.instructor).peer_id.hex()
    store = Store.open(dirs.students[0])
    try:
        store.set_running(os.getpid())
        store.set_reach(
            json.dumps(
                {
                    "at": int(time.time() * 1000),
                    "interfaces": [
                        {"name": "wlan0", "address": "10.1.2.3", "broadcast": "10.1.255.255"}
                    ],
                    "listen": ["10.1.2.3:4000"],
                    "beacons": "on",
                    "mdns": "off",
                    "heard": [],
                    "unreachable": [],
                    "connected": [
                        {
                            "peer": teacher,
                            "address": "10.1.2.9:4000",
                            "skew_ms": 0,
                            "hears_us": {"beacon": False},
                        }
                    ],
                    "refused_records": {},
                }
            )
        )
    finally:
        store.close()
    result = pc(dirs.students[0], "doctor")
    assert result.code == 0, result.err  # a warning: the class still works through the member
    assert "warning our beacons are not heard by the member(s) we reach" in result.out
    assert "one way only" in result.out and "--peer HOST:PORT" in result.out
