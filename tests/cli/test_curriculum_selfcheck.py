"""The self-check ``check`` and ``submit`` share: the language from the flag, the file name or
the problem; results through the grading engine; what is printed and what a submission
carries (the engine's own limits and sandbox are tested in tests/grading)."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
import pytest

from peer.cli._selfcheck import SelfCheck, choose_language, run_self_check, self_check_lines
from peer.errors import UsageError
from peer.grading import CheckResult
from peer.log import MAX_CHECK_DETAIL
from peer.log._curriculum import Example
from storage.queries import Problem

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
PROBLEM = Problem(
    id=bytes(32),
    root=bytes(32),
    revision_of=None,
    author=bytes(32),
    author_name="T",
    official=True,
    title="Sum",
    statement="Add.",
    examples=(Example("2 3\n", "5\n"), Example("10 -4", "6   \n\n"), Example("1 1\n", "3\n")),
    tags=(),
    due=None,
    ts=1,
    seq=1,
    languages=("python", "c"),
)


def test_the_language_comes_from_the_flag_the_file_name_or_the_problem() -> None:
    assert choose_language(PROBLEM, None, Path("a.c")) == "c"
    assert choose_language(PROBLEM, None, Path("a.PY")) == "python"
    assert choose_language(PROBLEM, None, Path("solution.txt")) == "python"  # the first
    assert choose_language(PROBLEM, " C ", Path("a.py")) == "c"
    python_only = attrs.evolve(PROBLEM, languages=("python",))
    with pytest.raises(UsageError, match=r"'Sum' accepts python, not 'c' \(from a.c; give"):
        choose_language(python_only, None, Path("a.c"))
    with pytest.raises(UsageError, match=r"'Sum' accepts python, not 'rust'$"):
        choose_language(python_only, "rust", Path("a.py"))


def test_passing_and_failing_examples_each_get_a_result() -> None:
    check = run_self_check(PROBLEM, "python", ADD)
    assert [r.passed for r in check.results] == [True, True, False]
    lines = self_check_lines(PROBLEM, check)
    assert lines[0] == "self-check of 'Sum' (python): passed 2/3"
    assert lines[1] == "  example 3 failed:"
    assert "    -3" in lines and "    +2" in lines
    assert not check.all_passed


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler here")
def test_c_is_compiled_and_a_compile_error_is_told_once() -> None:
    source = (
        '#include <stdio.h>\nint main(void){int a,b;scanf("%d %d",&a,&b);printf("%d\\n",a+b);}\n'
    )
    assert run_self_check(PROBLEM, "c", source).passed == 3 - 1  # "1 1" -> 2, not 3
    broken = run_self_check(PROBLEM, "c", "int main( {\n")
    lines = self_check_lines(PROBLEM, broken)
    assert lines[0] == "self-check of 'Sum' (c): passed 0/3"
    assert lines[1] == "  compile error:"
    assert sum("main.c:1" in line for line in lines) == 1


def test_what_a_submission_carries_is_printable_and_within_the_schema() -> None:
    long = CheckResult(False, "\x1b[31m" + "x" * 5000)
    [body] = SelfCheck("python", (long,)).bodies()
    assert body["passed"] is False
    detail = str(body["detail"])
    assert "\x1b" not in detail and len(detail) == MAX_CHECK_DETAIL


def test_a_check_that_cannot_run_here_says_why() -> None:
    check = SelfCheck("c", (), "not run here: no C compiler (cc) here")
    assert self_check_lines(PROBLEM, check) == [
        "self-check of 'Sum' (c): not run here: no C compiler (cc) here"
    ]
    assert not check.all_passed and check.bodies() == []
