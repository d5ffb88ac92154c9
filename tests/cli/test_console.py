"""The terminal console: lines starting with '/' are commands, never chat; an unknown command
says so; a line as long as the terminal allows (so probably cut) is refused, not sent cut."""

from __future__ import annotations

from peer.cli._console import TERMINAL_LINE_LIMIT, Command, parse_line


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
