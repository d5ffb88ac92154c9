"""Logs a person can live with: ``run`` keeps its full log in a rotating file in the data
dir, and the terminal shows a few lines per kind of trouble, never one per packet."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from peer.cli import _logging
from peer.logsummary import RepeatLimiter
from peer.testing import PeerProcess, free_udp_port, wait_until
from tests.helpers import make_class


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_the_run_log_file_rotates_and_keeps_three_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    monkeypatch.setattr(_logging, "LOG_FILE_BYTES", 4096)
    setup = _logging.setup_logging("run", tmp_path, file_log=True)
    assert setup.file == tmp_path / "peerclass.log"
    log = logging.getLogger("peerclass.test")
    for i in range(400):
        log.info(f"event number {i} stored from a peer somewhere on the network")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["peerclass.log", "peerclass.log.1", "peerclass.log.2", "peerclass.log.3"]
    for path in tmp_path.iterdir():
        assert path.stat().st_size <= 4096
    assert "event number 399 " in (tmp_path / "peerclass.log").read_text()


def test_a_full_disk_under_the_log_file_is_one_warning_not_a_traceback_per_record(
    tmp_path: Path,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _logging.setup_logging("run", tmp_path, file_log=True)
    to_file = next(
        h.target
        for h in logging.getLogger().handlers
        if isinstance(h.target if hasattr(h, "target") else None, _logging._LogFile)
    )
    assert isinstance(to_file, _logging._LogFile)
    to_file.stream = open("/dev/full", "w")  # every write fails: ENOSPC  # noqa: SIM115
    for i in range(50):
        logging.getLogger("peerclass.test").warning(f"condition {i}")
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert err.count("cannot write the log file") == 1


async def test_a_summary_is_said_when_its_minute_ends_though_nothing_more_is_logged(
    tmp_path: Path,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = _logging.setup_logging("run", tmp_path, file_log=True)
    limiters = [h for h in logging.getLogger().handlers if isinstance(h, RepeatLimiter)]
    log = logging.getLogger("peerclass.test")
    try:
        for limiter in limiters:  # the limiters read Trio's (jumping) clock
            limiter.clock = limiter._tally.clock = trio.current_time
            limiter._window_start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for task in setup.tasks:
                nursery.start_soon(task)
            for _ in range(40):
                log.warning("refused connection with %s: %s", "10.1.2.3", "bad handshake")
            await trio.sleep(30)
            assert "more like" not in capsys.readouterr().err
            await trio.sleep(40)  # past the minute, and past the next check
            err = capsys.readouterr().err
            nursery.cancel_scope.cancel()
    finally:
        for limiter in limiters:
            limiter.clock = limiter._tally.clock = time.monotonic
    assert "37 more like “refused connection with 10.1.2.3: bad handshake”" in err
    assert "in the last minute" in err
    assert "20 more like" in (tmp_path / "peerclass.log").read_text()  # 20 kept, the rest counted


def _flood(host: str, port: int, count: int) -> None:
    """Connections that send junk instead of a handshake: each is refused."""
    for _ in range(count):
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(200))


def _flood_udp(port: int, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(count):
            sock.sendto(b"not a beacon %d" % i, ("127.0.0.1", port))


def test_a_run_session_shows_no_line_per_packet_and_keeps_a_log_file(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1)
    discovery_port = free_udp_port()
    peer = PeerProcess(klass.instructor, discovery_port, ["--no-ui"]).start()
    try:
        assert peer.port is not None
        _flood_udp(discovery_port, 2000)
        _flood("127.0.0.1", peer.port, 60)
        log_file = klass.instructor / "peerclass.log"
        wait_until(
            lambda: log_file.exists() and "refused connection" in log_file.read_text(),
            30,
            "the refusals in the log file",
        )
        # Who joins is told by name. (Leaving is told once someone has been gone for over a
        # minute, and coming back after that: tests/cli/test_presence.py, on virtual time.)
        student = PeerProcess(klass.students[0], discovery_port, ["--no-ui"]).start()
        try:
            wait_until(lambda: _said(peer, "Student1", "joined"), 30, "the student to join")
        finally:
            assert student.stop() == 0
    finally:
        assert peer.stop() == 0
    terminal = (klass.instructor / "run.log").read_text().splitlines()
    refused = [line for line in terminal if "refused connection" in line]
    # A few of the flood, then one summary line; nothing per datagram.
    assert 1 <= len(refused) <= 5, terminal
    assert not [line for line in terminal if "beacon" in line and "more like" not in line][3:]
    assert len(terminal) <= 15, terminal
    assert "Traceback" not in "\n".join(terminal)
    assert "listening on" not in "\n".join(terminal)  # stdout, not the log


def _said(peer: PeerProcess, name: str, what: str) -> bool:
    return any(line.startswith(f"[class] {name} (") and line.endswith(what) for line in peer.lines)
