"""``--limit``, ``--before`` and ``--since`` on chat log, submissions and feedback list: the
documented pages, output identical to the unpaged listing's, and bad values refused with one
line on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from tests.cli.test_curriculum_cli import ADD, share, write
from tests.helpers import CliResult, make_class, pc, pc_ok


@attrs.frozen
class Course:
    teacher: Path
    alice: Path
    problem: str
    attempts: list[str]  # alice's submissions, oldest first
    reviews: list[str]  # the teacher's feedback, one per attempt, oldest first
    chat: list[str]  # alice's chat messages, oldest first


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """Built once for the module: every test here only reads it."""
    tmp_path = tmp_path_factory.mktemp("course")
    dirs = make_class(tmp_path, 1, ["Teacher", "Alice"])
    teacher, alice = dirs.instructor, dirs.students[0]
    statement = write(tmp_path / "sum.md", "Add two numbers.")
    problem = pc_ok(
        teacher, "problem", "publish", "--title", "Sum", "--statement-file", statement
    ).out.strip()
    share(teacher, alice)
    solution = write(tmp_path / "add.py", ADD)
    attempts = [pc_ok(alice, "submit", problem[:8], solution).out.split()[-1] for _ in range(3)]
    chat = [pc_ok(alice, "chat", "send", f"message {i}").out.strip() for i in range(5)]
    share(alice, teacher)
    reviews = [
        pc_ok(
            teacher, "feedback", "give", a[:10], "--verdict", "revise", "--comment", f"try {i}"
        ).out.strip()
        for i, a in enumerate(attempts)
    ]
    return Course(teacher, alice, problem, attempts, reviews, chat)


def _ids(result: CliResult) -> list[str]:
    return [row["id"] for row in result.json()]


def test_chat_log_pages(course: Course) -> None:
    chat = course.chat
    assert _ids(pc_ok(course.teacher, "chat", "log", "--json")) == chat
    assert _ids(pc_ok(course.teacher, "chat", "log", "--limit", "2", "--json")) == chat[-2:]
    page = pc_ok(course.teacher, "chat", "log", "--before", chat[3][:10], "--limit", "2", "--json")
    assert _ids(page) == chat[1:3]
    assert _ids(pc_ok(course.teacher, "chat", "log", "--before", chat[1], "--json")) == chat[:1]
    assert _ids(pc_ok(course.teacher, "chat", "log", "--since", "2999-01-01", "--json")) == []
    assert _ids(pc_ok(course.teacher, "chat", "log", "--since", "2020-01-01", "--json")) == chat
    lines = pc_ok(course.teacher, "chat", "log", "--limit", "1").out.splitlines()
    assert len(lines) == 1
    assert "[general] Alice (" in lines[0] and lines[0].endswith("): message 4")


def test_streamed_json_is_the_documented_json(course: Course) -> None:
    out = pc_ok(course.teacher, "chat", "log", "--json").out
    rows = json.loads(out)
    assert out == json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    assert set(rows[0]) == {"id", "author", "author_name", "room", "text", "ts", "seq"}
    assert pc_ok(course.teacher, "chat", "log", "--since", "2999-01-01", "--json").out == "[]\n"


def test_submissions_and_feedback_pages(course: Course) -> None:
    a = course.attempts
    assert _ids(pc_ok(course.teacher, "submissions", "--json")) == a
    assert _ids(pc_ok(course.teacher, "submissions", "--limit", "2", "--json")) == a[1:]
    assert _ids(pc_ok(course.teacher, "submissions", "--before", a[2][:8], "--json")) == a[:2]
    before = pc_ok(course.teacher, "submissions", "--before", a[2][:8], "--limit", "1", "--json")
    assert _ids(before) == a[1:2]
    assert _ids(pc_ok(course.teacher, "submissions", "--since", "2999-01-01", "--json")) == []
    r = course.reviews
    assert _ids(pc_ok(course.alice, "feedback", "list", "--json")) == []  # not shared yet
    assert _ids(pc_ok(course.teacher, "feedback", "list", "--json")) == r
    assert _ids(pc_ok(course.teacher, "feedback", "list", "--limit", "1", "--json")) == r[2:]
    page = pc_ok(course.teacher, "feedback", "list", "--before", r[2][:8], "--limit", "1", "--json")
    assert _ids(page) == r[1:2]
    table = pc_ok(course.teacher, "submissions", "--limit", "1").out.splitlines()
    assert len(table) == 2 and table[1].startswith(a[2][:8])  # header and the newest row


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ("chat log --limit 0", "--limit: 0 is out of range"),
        ("chat log --limit many", "--limit: 'many' is not a whole number"),
        ("chat log --before xyz", "is not an id"),
        ("chat log --before {problem}", "no chat"),
        ("chat log --since soon", "--since 'soon' is not an ISO 8601 date or time"),
        ("submissions --limit -3", "--limit: -3 is out of range"),
        ("submissions --before {chat}", "no submission"),
        ("feedback list --before {chat}", "no feedback"),
    ],
)
def test_bad_paging_values_are_refused_in_one_line(course: Course, argv: str, message: str) -> None:
    args = argv.format(problem=course.problem[:10], chat=course.chat[0][:10]).split()
    result = pc(course.teacher, *args)
    assert result.code != 0
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert result.out == ""
