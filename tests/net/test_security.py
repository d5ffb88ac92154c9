"""Security with real peer processes: what a stranger on the network can see and do.

Peers run without discovery and dial each other through a relay on loopback that records,
corrupts, cuts or replays the bytes in between.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from peer.identity import load_membership
from peer.net import _discovery as discovery
from peer.testing import PeerProcess, free_udp_port, heads, wait_converged, wait_until
from tests.helpers import ClassDirs, make_class, pc_ok
from tests.proxy import Relay, cut_at, flip_bit_at

SECRET_TEXT = "the answer to problem 3 is 42"


@pytest.fixture
def klass(tmp_path: Path) -> ClassDirs:
    return make_class(tmp_path, students=2)


@pytest.fixture
def procs() -> Iterator[list[PeerProcess]]:
    started: list[PeerProcess] = []
    yield started
    for p in started:
        p.kill()


def _start(procs: list[PeerProcess], data_dir: Path, *args: str) -> PeerProcess:
    peer = PeerProcess(data_dir, free_udp_port(), ["--no-discovery", *args]).start()
    procs.append(peer)
    return peer


def _log(peer: PeerProcess) -> str:
    return (peer.data_dir / "run.log").read_text()


def _chat(data_dir: Path) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = pc_ok(data_dir, "chat", "log", "--json").json()
    return result


def test_a_recording_relay_sees_no_chat_text(klass: ClassDirs, procs: list[PeerProcess]) -> None:
    teacher = _start(procs, klass.instructor)
    relay = Relay(("127.0.0.1", teacher.port or 0)).start()
    _start(procs, klass.students[0], "--peer", relay.address)
    pc_ok(klass.students[0], "chat", "send", SECRET_TEXT)
    pc_ok(klass.instructor, "chat", "send", "see me after class")
    wait_converged([klass.instructor, klass.students[0]])
    assert SECRET_TEXT in [m["text"] for m in _chat(klass.instructor)]
    recording = bytes(relay.recorded)
    assert len(recording) > 500
    for clear in (SECRET_TEXT, "see me after class", "Student1", "Teacher"):
        assert clear.encode() not in recording
    secret = load_membership(klass.instructor).klass.secret
    assert secret not in recording


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (flip_bit_at(400), "failed authentication"),
        (cut_at(400), "ended in the middle of a frame"),
    ],
    ids=["bit-flip", "truncation"],
)
def test_a_tampered_connection_closes_and_stores_nothing_from_it(
    klass: ClassDirs, procs: list[PeerProcess], tamper: Any, expected: str
) -> None:
    # 400 bytes into the dialer's stream is past the handshake (50 + 162 bytes), inside the
    # first encrypted frames.
    teacher = _start(procs, klass.instructor)
    relay = Relay(("127.0.0.1", teacher.port or 0), tamper_up=tamper).start()
    for i in range(5):
        pc_ok(klass.students[0], "chat", "send", f"message {i}")
    _start(procs, klass.students[0], "--peer", relay.address)
    wait_until(lambda: expected in _log(teacher), 20, f"the teacher to log {expected!r}")
    # The dialer reconnects (the relay no longer tampers) and everything arrives intact.
    wait_converged([klass.instructor, klass.students[0]])
    assert relay.connections >= 2
    assert [m["text"] for m in _chat(klass.instructor)] == [f"message {i}" for i in range(5)]
    assert pc_ok(klass.instructor, "status", "--json").json()["forks"] == 0


def test_a_replayed_handshake_is_refused(klass: ClassDirs, procs: list[PeerProcess]) -> None:
    teacher = _start(procs, klass.instructor)
    relay = Relay(("127.0.0.1", teacher.port or 0)).start()
    student = _start(procs, klass.students[0], "--peer", relay.address)
    pc_ok(klass.students[0], "chat", "send", "recorded once")
    wait_converged([klass.instructor, klass.students[0]])
    student.stop()
    before = heads(klass.instructor)
    log_size = len(_log(teacher))
    with socket.create_connection(("127.0.0.1", teacher.port or 0), timeout=10) as replay:
        replay.sendall(bytes(relay.first_upstream))
        replay.settimeout(10)
        try:
            while replay.recv(65536):
                pass
        except OSError:
            pass  # reset by the teacher: also a refusal
    wait_until(
        lambda: "refused connection" in _log(teacher)[log_size:], 15, "the teacher to refuse"
    )
    assert heads(klass.instructor) == before


def test_a_forged_beacon_causes_no_dial(klass: ClassDirs, procs: list[PeerProcess]) -> None:
    port = free_udp_port()
    teacher = PeerProcess(klass.instructor, port).start()
    procs.append(teacher)
    key = discovery.beacon_key(load_membership(klass.instructor).klass.secret)
    bait = socket.create_server(("127.0.0.1", 0))
    bait.settimeout(0.2)
    bait_port = bait.getsockname()[1]
    stranger = nacl.signing.SigningKey.generate()

    def beacon() -> bytes:  # fresh each time, as a peer's own are
        return discovery.encode_beacon(
            key, stranger, bait_port, sent_ms=int(time.time() * 1000), instance=b"i" * 8
        )

    forged = bytearray(beacon())
    forged[-1] ^= 1  # the tag no longer verifies
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)

    def dialled(datagram: bytes, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sender.sendto(datagram, (discovery_addr(), port))
            try:
                conn, _ = bait.accept()
            except TimeoutError:
                continue
            conn.close()
            return True
        return False

    try:
        # A negative can only be shown over a window: several beacon and dial rounds.
        assert not dialled(bytes(forged), 4.0)
        # Control: the same beacon with a valid tag does make the peer dial.
        assert dialled(beacon(), 15.0)
    finally:
        sender.close()
        bait.close()


def discovery_addr() -> str:
    return "127.255.255.255"


def test_a_private_message_is_readable_by_its_recipient_only(
    klass: ClassDirs, procs: list[PeerProcess]
) -> None:
    # The students reach each other only through the teacher, who relays the sealed event.
    teacher = _start(procs, klass.instructor)
    _start(procs, klass.students[0], "--peer", teacher.address)
    _start(procs, klass.students[1], "--peer", teacher.address)
    wait_converged(klass.all)  # Student1 learns Student2's name from its profile
    event_id = pc_ok(klass.students[0], "chat", "send", "--to", "Student2", SECRET_TEXT).out.strip()
    pc_ok(klass.students[0], "chat", "send", "public hello")
    wait_converged(klass.all)
    received = {m["id"]: m for m in _chat(klass.students[1])}
    assert received[event_id]["text"] == SECRET_TEXT
    assert (
        received[event_id]["to"] == pc_ok(klass.students[1], "status", "--json").json()["peer_id"]
    )
    sent = {m["id"]: m for m in _chat(klass.students[0])}
    assert sent[event_id]["text"] == SECRET_TEXT
    relayed = _chat(klass.instructor)
    assert event_id not in {m["id"] for m in relayed}
    assert [m["text"] for m in relayed] == ["public hello"]
    assert SECRET_TEXT not in pc_ok(klass.instructor, "chat", "log").out
    # The teacher does hold (and relayed) the sealed event, without being able to read it.
    teacher_store = (klass.instructor / "peerclass.db").read_bytes()
    assert SECRET_TEXT.encode() not in teacher_store


def test_a_data_dir_readable_by_others_gets_a_warning(
    klass: ClassDirs, procs: list[PeerProcess]
) -> None:
    klass.students[0].chmod(0o755)
    (klass.students[0] / "class.json").chmod(0o644)
    peer = _start(procs, klass.students[0])
    peer.stop()
    log = _log(peer)
    assert f"warning: {klass.students[0]} is readable by other users" in log
    assert f"warning: {klass.students[0] / 'class.json'} is readable by other users" in log
    assert "identity.key is readable" not in log  # still 0600
