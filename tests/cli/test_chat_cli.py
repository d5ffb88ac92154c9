"""``peerclass chat`` (issue 19): text as people type it, one's own messages edited and
deleted, announcements by an instructor only, search (Korean included), and every version of
a message for its author and the instructor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ClassDirs, exchange, make_class, pc, pc_ok


@pytest.fixture
def klass(tmp_path: Path) -> ClassDirs:
    return make_class(tmp_path, students=2, names=["Teacher", "민준", "Jisoo"])


@pytest.fixture
def alone(tmp_path: Path) -> Path:
    """An instructor's data dir and no one else (what one person types)."""
    return make_class(tmp_path, students=0, names=["Teacher"]).instructor


def log(data_dir: Path) -> list[dict[str, Any]]:
    return pc_ok(data_dir, "chat", "log", "--json").json()  # type: ignore[no-any-return]


def test_line_breaks_as_typed_are_stored_as_newlines_and_printed_indented(
    alone: Path,
) -> None:
    pc_ok(alone, "chat", "send", "첫 줄\r\n둘째 줄\rthird")
    [message] = log(alone)
    assert message["text"] == "첫 줄\n둘째 줄\nthird"
    lines = pc_ok(alone, "chat", "log").out.splitlines()
    assert lines[0].startswith(message["id"][:8] + "  ") and lines[0].endswith(": 첫 줄")
    assert lines[1:] == ["    둘째 줄", "    third"]


def test_other_control_characters_are_refused_with_the_reason(alone: Path) -> None:
    result = pc(alone, "chat", "send", "ring\r\nthe bell\x07")
    assert result.code == 1
    assert "control character (U+0007 at character 14)" in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert log(alone) == []


def test_a_file_with_windows_line_endings_is_read_as_newlines(alone: Path, tmp_path: Path) -> None:
    statement = tmp_path / "statement.md"
    statement.write_bytes("# 합\r\n\r\n두 수를 더하세요.\rDone\r\n".encode())
    problem = pc_ok(
        alone, "problem", "publish", "--title", "Sum", "--statement-file", str(statement)
    ).out.strip()
    shown = pc_ok(alone, "problem", "show", problem[:8], "--json").json()
    assert shown["statement"] == "# 합\n\n두 수를 더하세요.\nDone\n"


def test_only_the_author_edits_or_deletes_and_everyone_sees_the_latest(
    klass: ClassDirs,
) -> None:
    minjun, jisoo = klass.students
    message = pc_ok(minjun, "chat", "send", "숙제는 금요일까지").out.strip()
    exchange(*klass.all)
    refused = pc(jisoo, "chat", "edit", message[:8], "hijacked")
    assert refused.code == 1 and "not yours: only its author may edit it" in refused.err
    refused = pc(klass.instructor, "chat", "delete", message[:8])
    assert refused.code == 1 and "only its author may delete it" in refused.err
    pc_ok(minjun, "chat", "edit", message[:8], "숙제는 목요일까지\r\n(바뀜)")
    exchange(*klass.all)
    for d in klass.all:
        [shown] = log(d)
        assert (shown["text"], shown["edited"]) == ("숙제는 목요일까지\n(바뀜)", True)
    assert "(edited)" in pc_ok(jisoo, "chat", "log").out
    pc_ok(minjun, "chat", "delete", message[:12])
    exchange(*klass.all)
    for d in klass.all:
        [shown] = log(d)
        assert shown["deleted"] and shown["text"] == ""
    assert pc_ok(jisoo, "chat", "log").out.rstrip().endswith(": (deleted)")
    again = pc(minjun, "chat", "edit", message[:8], "too late")
    assert again.code == 1 and "is deleted" in again.err
    # The revisions stay, for the author and the instructor only.
    for d in (minjun, klass.instructor):
        history = pc_ok(d, "chat", "history", message[:8], "--json").json()
        assert [(h["action"], h["text"]) for h in history] == [
            ("original", "숙제는 금요일까지"),
            ("edit", "숙제는 목요일까지\n(바뀜)"),
            ("delete", ""),
        ]
    refused = pc(jisoo, "chat", "history", message[:8])
    assert refused.code == 1 and "only its author and the instructor" in refused.err


def test_a_private_message_stays_private_when_edited(klass: ClassDirs) -> None:
    minjun, jisoo = klass.students
    exchange(*klass.all)  # the roster reaches everyone: names are known
    message = pc_ok(minjun, "chat", "send", "--to", "Teacher", "비밀 질문").out.strip()
    pc_ok(minjun, "chat", "edit", message[:8], "고친 비밀 질문")
    exchange(*klass.all)
    [seen] = log(klass.instructor)
    assert (seen["text"], seen["edited"]) == ("고친 비밀 질문", True)
    assert log(jisoo) == []
    assert pc_ok(jisoo, "chat", "search", "비밀", "--json").json() == []


def test_only_an_instructor_announces(klass: ClassDirs) -> None:
    refused = pc(klass.students[0], "chat", "announce", "no class today!")
    assert refused.code == 1 and "only an instructor" in refused.err
    pc_ok(klass.instructor, "chat", "announce", "시험은\r\n금요일입니다")
    exchange(*klass.all)
    [shown] = log(klass.students[1])
    assert shown["announcement"] and shown["text"] == "시험은\n금요일입니다"
    assert "[announcement] Teacher" in pc_ok(klass.students[1], "chat", "log").out


def test_search_finds_korean_words_in_what_this_peer_can_read(klass: ClassDirs) -> None:
    minjun, jisoo = klass.students
    exchange(*klass.all)
    hello = pc_ok(minjun, "chat", "send", "안녕하세요 여러분").out.strip()
    pc_ok(jisoo, "chat", "send", "--room", "lab", "여러 가지 질문")
    pc_ok(jisoo, "chat", "send", "--to", "Teacher", "여러분 몰래")
    exchange(*klass.all)
    ids = [m["id"] for m in pc_ok(minjun, "chat", "search", "여러", "--json").json()]
    assert len(ids) == 2 and hello in ids  # not Jisoo's private message to the teacher
    only_general = pc_ok(minjun, "chat", "search", "여러", "--room", "general", "--json").json()
    assert [m["id"] for m in only_general] == [hello]
    assert len(pc_ok(klass.instructor, "chat", "search", "여러분", "--json").json()) == 2
    human = pc_ok(minjun, "chat", "search", "안녕하세").out
    assert human.startswith(hello[:8]) and "안녕하세요 여러분" in human
    empty = pc(minjun, "chat", "search", "  ")
    assert empty.code == 1 and "give some words" in empty.err
