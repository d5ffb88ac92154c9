"""Real ``peerclass run`` processes on loopback: discovery, convergence, catch-up, kill -9.

Discovery goes to 127.255.255.255 on a UDP port private to each test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from peer.testing import PeerProcess, free_udp_port, heads, wait_converged, wait_until
from tests.helpers import ClassDirs, make_class, pc, pc_ok


@pytest.fixture
def klass(tmp_path: Path) -> ClassDirs:
    return make_class(tmp_path, students=2)


@pytest.fixture
def running(klass: ClassDirs):  # type: ignore[no-untyped-def]
    port = free_udp_port()
    peers = [PeerProcess(d, port) for d in klass.all]
    yield peers
    for p in peers:
        if p.process is not None:
            p.kill()


def cli(data_dir: Path, *args: str) -> str:
    """A command on a data dir whose peer runs in another process (in-process here: fast)."""
    return pc_ok(data_dir, *args).out


def cli_json(data_dir: Path, *args: str) -> Any:
    return pc_ok(data_dir, *args, "--json").json()


def _texts(data_dir: Path) -> list[str]:
    return [m["text"] for m in cli_json(data_dir, "chat", "log")]


def test_three_peers_discover_each_other_by_broadcast_and_converge(
    klass: ClassDirs, running: list[PeerProcess]
) -> None:
    for p in running:
        p.start()
    for i, d in enumerate(klass.all):
        cli(d, "chat", "send", f"hello from peer {i}")
    wait_converged(klass.all, timeout=30)
    logs = [cli_json(d, "chat", "log") for d in klass.all]
    assert len(logs[0]) == 3
    assert logs[0] == logs[1] == logs[2]  # same messages, same order, on every peer

    # Convergence can come through a third peer before every pair has dialled: wait for the
    # full mesh (the peer with the larger id defers its dial for a moment).
    def fully_connected() -> bool:
        return all(
            [p["connected"] for p in cli_json(d, "peers")] == [True, True] for d in klass.all
        )

    wait_until(fully_connected, 20, "every peer to be connected to both others")
    statuses = [cli_json(d, "status") for d in klass.all]
    assert statuses[0]["heads"] == statuses[1]["heads"] == statuses[2]["heads"]
    assert all(s["forks"] == 0 for s in statuses)


def test_running_peer_pushes_a_cli_message_and_prints_it(
    klass: ClassDirs, running: list[PeerProcess]
) -> None:
    for p in running:
        p.start()
    wait_converged(klass.all)
    cli(klass.students[0], "chat", "send", "--room", "help", "is anyone there?")
    wait_until(
        lambda: any("is anyone there?" in line for line in running[0].lines),
        10,
        "the teacher's peer to print the message",
    )
    printed = next(line for line in running[0].lines if "is anyone there?" in line)
    assert printed.startswith("[help] Student1 (")


def test_a_peer_that_was_off_catches_up(klass: ClassDirs, running: list[PeerProcess]) -> None:
    for p in running:
        p.start()
    wait_converged(klass.all)
    offline = running[2]
    assert offline.stop() == 0  # SIGTERM: a clean exit
    sent = [f"missed message {i}" for i in range(30)]
    for i, text in enumerate(sent):
        cli(klass.all[i % 2], "chat", "send", text)
    wait_converged(klass.all[:2])
    assert not set(sent) & set(_texts(offline.data_dir))
    offline.start()
    wait_converged(klass.all)
    assert set(sent) <= set(_texts(offline.data_dir))
    assert _texts(offline.data_dir) == _texts(klass.instructor)


def test_a_peer_killed_with_sigkill_keeps_what_it_acknowledged(
    klass: ClassDirs, running: list[PeerProcess]
) -> None:
    for p in running:
        p.start()
    wait_converged(klass.all)
    victim = running[1]
    acknowledged = [
        cli(victim.data_dir, "chat", "send", f"before the crash {i}").strip() for i in range(10)
    ]
    victim.kill()  # SIGKILL right after the last acknowledgement
    held = {m["id"] for m in cli_json(victim.data_dir, "chat", "log")}
    assert set(acknowledged) <= held
    # The others keep talking while it is down; it resumes and converges.
    cli(klass.instructor, "chat", "send", "while you were down")
    victim.start()
    wait_converged(klass.all)
    for d in klass.all:
        ids = {m["id"] for m in cli_json(d, "chat", "log")}
        assert set(acknowledged) <= ids
    assert "while you were down" in _texts(victim.data_dir)
    assert all(cli_json(d, "status")["forks"] == 0 for d in klass.all)
    # Its own log continues where it was: the next event gets the next seq.
    own = cli_json(victim.data_dir, "status")["peer_id"]
    before = heads(victim.data_dir)[own]
    cli(victim.data_dir, "chat", "send", "after the restart")
    assert heads(victim.data_dir)[own] == before + 1


def test_sigterm_exits_zero_and_marks_peers_disconnected(
    klass: ClassDirs, running: list[PeerProcess]
) -> None:
    for p in running[:2]:
        p.start()
    wait_converged(klass.all[:2])
    wait_until(
        lambda: any(p["connected"] for p in cli_json(klass.instructor, "peers")),
        10,
        "the teacher to list a connected peer",
    )
    assert running[0].stop() == 0
    assert not any(p["connected"] for p in cli_json(klass.instructor, "peers"))
    assert cli_json(klass.instructor, "status")["running"] is False


def test_lines_typed_in_a_terminal_are_sent_as_chat(klass: ClassDirs) -> None:
    import os
    import pty
    import subprocess

    from peer.testing import peerclass_command

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        peerclass_command(
            klass.students[0], "run", "--bind", "127.0.0.1", "--no-discovery", "--room", "lab"
        ),
        stdin=terminal,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: heads(klass.students[0]) != {}, 10, "the store to exist")
        wait_until(
            lambda: pc_ok(klass.students[0], "status", "--json").json()["running"],
            20,
            "the peer to run",
        )
        os.write(controller, b"typed at the keyboard\n")
        wait_until(
            lambda: "typed at the keyboard" in _texts(klass.students[0]),
            20,
            "the typed line to be stored as chat",
        )
        assert cli_json(klass.students[0], "chat", "log")[-1]["room"] == "lab"
    finally:
        process.terminate()
        assert process.wait(15) == 0
        os.close(controller)
        os.close(terminal)


def test_a_second_peer_on_the_same_data_dir_is_refused(
    klass: ClassDirs, running: list[PeerProcess]
) -> None:
    running[0].start()
    second = pc(klass.instructor, "run", "--bind", "127.0.0.1", "--no-discovery")
    assert second.code == 1
    assert "a peer is already running on" in second.err
    assert len(second.err.strip().splitlines()) == 1
    running[0].kill()  # the lock goes with the process, however it ends
    running[0].start()
    assert running[0].port is not None
