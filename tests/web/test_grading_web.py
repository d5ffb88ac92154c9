"""Grading from the browser: the instructor names a folder of hidden tests on this computer,
and the same Grader as ``peerclass grade`` runs each student's latest attempt in the sandbox
and publishes instructor feedback; grading again changes nothing; a student may not grade; a
missing folder is one clear line and runs nothing."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from peer.grading import LANGUAGE_TABLE
from storage.queries import list_feedback
from tests.cli.test_curriculum_cli import share, write
from tests.grading.helpers import needs_sandbox
from tests.helpers import make_class, pc_ok
from tests.web.conftest import Ui, open_ui

ADD_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
SMALL_ONLY_PY = "a, b = map(int, input().split())\nprint(a + b if a < 100 else 0)\n"


@attrs.frozen
class Course:
    teacher: Path
    students: list[Path]
    problem: str
    tests: Path


@pytest.fixture
def course(tmp_path: Path) -> Course:
    """A Python problem, two students' attempts received by the instructor, hidden tests."""
    dirs = make_class(tmp_path, 2, ["Teacher", "Alice", "Bob"])
    files = tmp_path / "files"
    files.mkdir()
    problem = pc_ok(
        dirs.instructor,
        "problem", "publish", "--title", "Sum",
        "--statement-file", write(files / "sum.md", "Add two numbers."),
        "--example", write(files / "in", "2 3\n"), write(files / "out", "5\n"),
    ).out.strip()  # fmt: skip
    share(dirs.instructor, *dirs.students)
    alice, bob = dirs.students
    pc_ok(alice, "submit", problem[:8], write(files / "add.py", ADD_PY))
    pc_ok(bob, "submit", problem[:8], write(files / "small.py", SMALL_ONLY_PY))
    share(alice, dirs.instructor)
    share(bob, dirs.instructor)
    tests = tmp_path / "hidden"
    tests.mkdir()
    write(tests / "01-small.in", "2 3\n")
    write(tests / "01-small.out", "5\n")
    write(tests / "02-large.in", "40000 2345\n")
    write(tests / "02-large.out", "42345\n")
    return Course(dirs.instructor, dirs.students, problem, tests)


@pytest.fixture
def teacher(course: Course) -> Iterator[Ui]:
    yield from open_ui(course.teacher)


def _grade(ui: Ui, problem: str, tests: str, which: str = "latest") -> tuple[int, str]:
    response = ui.client.post(
        f"/problems/{problem}/grade",
        data={"tests": tests, "which": which, "csrf": ui.csrf},
        follow_redirects=False,
    )
    return response.status_code, html.unescape(response.text)


@needs_sandbox
def test_the_instructor_grades_from_the_browser_as_the_cli_does(
    course: Course, teacher: Ui
) -> None:
    teacher.sign_in()
    page = teacher.client.get(f"/problems/{course.problem}")
    assert f'action="/problems/{course.problem}/grade"' in page.text

    status, text = _grade(teacher, course.problem, str(course.tests))
    assert status == 200
    assert "Alice" in text and "accept, score 100, passed all 2 tests" in text
    assert "Bob" in text and "revise, score 50, failed 02-large (wrong answer)" in text
    assert text.count("published feedback") == 2

    feedback = sorted(
        (f.verdict, f.score) for f in list_feedback(teacher.store, teacher.me.klass.instructor)
    )
    assert feedback == [("accept", 100), ("revise", 50)]

    # Grading again publishes nothing new: the verdicts stand.
    status, text = _grade(teacher, course.problem, str(course.tests), which="latest")
    assert status == 200 and text.count("unchanged since it was last graded") == 2
    assert len(list_feedback(teacher.store, teacher.me.klass.instructor)) == 2


def test_a_missing_folder_is_one_clear_line_and_nothing_runs(course: Course, teacher: Ui) -> None:
    teacher.sign_in()
    status, text = _grade(teacher, course.problem, str(course.tests / "nope"))
    assert status == 400
    assert "nope" in text and 'value="' + str(course.tests / "nope") + '"' in text
    status, text = _grade(teacher, course.problem, "")
    assert status == 400 and "give the folder of hidden tests" in text
    status, text = _grade(teacher, course.problem, str(course.tests), which="everything")
    assert status == 400 and "latest, ungraded, regrade" in text
    assert list_feedback(teacher.store, teacher.me.klass.instructor) == []


def test_a_student_may_not_grade(course: Course) -> None:
    for student in open_ui(course.students[0]):
        student.sign_in()
        page = student.client.get(f"/problems/{course.problem}")
        assert "/grade" not in page.text
        suffixes = ",".join(suffix for spec in LANGUAGE_TABLE for suffix in spec.suffixes)
        assert f'accept="{suffixes},.txt,text/plain"' in page.text  # the table's file endings
        status, _text = _grade(student, course.problem, str(course.tests))
        assert status == 403


def test_the_publish_form_lists_the_language_table(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    page = teacher_ui.client.get("/instructor/publish")
    assert page.status_code == 200
    for spec in LANGUAGE_TABLE:
        assert f'value="{spec.name}"' in page.text
        assert f"> {spec.display_name}</label>" in page.text


def test_submitted_code_is_coloured_by_the_lexer_the_table_names() -> None:
    from markupsafe import Markup

    from peer.web._highlight import highlight

    for spec in LANGUAGE_TABLE:
        shown = highlight("x = 1\n", spec.name)
        assert isinstance(shown, Markup) and "tok-" in shown, spec.name
