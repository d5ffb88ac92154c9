"""The terminal console: lines starting with '/' are commands, never chat; an unknown command
says so; a line as long as the terminal allows (so probably cut) is refused, not sent cut."""

from __future__ import annotations

from pathlib import Path

from peer.cli._console import TERMINAL_LINE_LIMIT, Command, parse_line
from peer.log import MAX_CHAT_TEXT
from peer.testing import PeerProcess, free_udp_port, wait_until
from tests.cli.pty_terminal import open_terminal
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


def test_on_a_terminal_arrivals_print_above_the_line_being_typed(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1, names=["Teacher", "민준"])
    port = free_udp_port()
    teacher = PeerProcess(klass.instructor, port).start()
    terminal = open_terminal(klass.students[0], port)
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
        terminal.close()
        teacher.stop()
