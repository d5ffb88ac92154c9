"""The terminal console: lines starting with '/' are commands, never chat; an unknown command
says so; a line as long as the terminal allows (so probably cut) is refused, not sent cut."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from pathlib import Path

import attrs

from peer.cli._console import TERMINAL_LINE_LIMIT, Command, parse_line
from peer.log import MAX_CHAT_TEXT
from peer.testing import (
    LOOPBACK_BROADCAST,
    PeerProcess,
    free_udp_port,
    peerclass_command,
    wait_until,
)
from tests.helpers import make_class, pc_ok


def test_commands_are_never_chat() -> None:
    assert parse_line("/help") == Command("help")
    assert parse_line("/who") == Command("who")
    assert parse_line("/rooms") == Command("rooms")
    assert parse_line("/quit") == Command("quit")
    assert parse_line("/room homework") == Command("room", "homework")
    assert parse_line("/ROOM lab") == Command("room", "lab")


def test_an_unknown_command_says_so() -> None:
    command = parse_line("/shrug")
    assert command.name == "error"
    assert "unknown command /shrug" in command.arg
    assert parse_line("/room").name == "error"


def test_ordinary_lines_are_chat() -> None:
    assert parse_line("hello 여러분") == Command("chat", "hello 여러분")
    assert parse_line("a / b") == Command("chat", "a / b")


def test_a_line_cut_by_the_terminal_is_refused_with_a_reason() -> None:
    command = parse_line("x" * TERMINAL_LINE_LIMIT)
    assert command.name == "error"
    assert "not sent" in command.arg and "4,095" in command.arg
    assert parse_line("x" * (TERMINAL_LINE_LIMIT - 1)).name == "chat"
    # prompt_toolkit reads a paste whole: only the event limit applies there
    assert parse_line("x" * TERMINAL_LINE_LIMIT, cooked=False).name == "chat"
    too_long = parse_line("x" * (MAX_CHAT_TEXT + 1), cooked=False)
    assert too_long.name == "error" and f"the limit is {MAX_CHAT_TEXT:,}" in too_long.arg


# ---- a real terminal: the student's peer runs on a pty ---------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")


@attrs.define(eq=False)
class Terminal:
    """A process on a pseudo-terminal, and everything it has drawn (escape codes removed)."""

    process: subprocess.Popen[bytes]
    master: int
    raw: bytearray = attrs.field(factory=bytearray)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.raw.extend(chunk)

    @property
    def screen(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait_for(self, text: str, after: int = 0) -> int:
        try:
            wait_until(lambda: text in self.screen[after:], 30, f"{text!r} on the terminal")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; the screen ends with {self.screen[-600:]!r}") from None
        return self.screen.index(text, after) + len(text)


def _open_terminal(data_dir: Path, discovery_port: int) -> Terminal:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {
        **os.environ,
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # a pty that answers no cursor-position requests
        "PEERCLASS_DISCOVERY_ADDR": LOOPBACK_BROADCAST,
    }
    process = subprocess.Popen(
        [
            *peerclass_command(data_dir, "run", "--bind", "127.0.0.1", "--no-ui"),
            "--discovery-port",
            str(discovery_port),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    terminal = Terminal(process, master)
    threading.Thread(target=terminal._read, daemon=True).start()
    return terminal


def test_on_a_terminal_arrivals_print_above_the_line_being_typed(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1, names=["Teacher", "민준"])
    port = free_udp_port()
    teacher = PeerProcess(klass.instructor, port).start()
    terminal = _open_terminal(klass.students[0], port)
    try:
        at = terminal.wait_for("#general>")
        terminal.type("/shrug\r")
        at = terminal.wait_for("unknown command /shrug", at)
        terminal.type("/who\r")
        at = terminal.wait_for("Teacher (", at)
        terminal.type("half typed 반쯤")  # no Enter yet
        at = terminal.wait_for("half typed 반쯤", at)
        pc_ok(klass.instructor, "chat", "send", "hello from the teacher")
        at = terminal.wait_for("[general] Teacher", at)
        # the line being typed is drawn again, whole, below the arrival
        terminal.wait_for("half typed 반쯤", at)
        terminal.type(" done\r")
        wait_until(
            lambda: "half typed 반쯤 done" in pc_ok(klass.instructor, "chat", "log").out,
            30,
            "the typed line to reach the teacher",
        )
        terminal.type("/quit\r")
        assert terminal.process.wait(20) == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait(10)
        os.close(terminal.master)
        teacher.stop()
