"""Grade a submission against hidden tests, and self-check one against public examples.

Grading runs every test in a fresh sandbox and scores passed weight over total weight. What
it tells the student is at most which tests failed and a fixed reason for each (by default,
not even the reason: ``_visibility``): never a test's input or expected output, and never
anything the program printed or its exit status, since a submission could print its hidden
input (to stdout or stderr) or encode it in its exit status to smuggle it out through the
comment.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Literal

import attrs

from peer.log import DEFAULT_HIDDEN_DETAIL

from ._languages import (
    CompileError,
    Program,
    clean_message,
    prepare_program,
    run_program,
)
from ._sandbox import (
    DEFAULT_LIMITS,
    Limits,
    RunResult,
    SandboxUnavailable,
    run_sandboxed,
    sandbox_available,
    sandbox_python,
)
from ._testdir import TestCase, TestSuite
from ._visibility import TestOutcome, student_comment, student_score, student_view

__all__ = [
    "CHECKER_LIMITS",
    "CheckResult",
    "GradeResult",
    "grade_submission",
    "outputs_match",
    "self_check",
]

#: The instructor's checker reads up to three 8 MiB files (actual output can be 16 MiB).
CHECKER_LIMITS = Limits(cpu_seconds=10, wall_seconds=20.0, memory_bytes=1024 * 1024 * 1024)
DETAIL_LINES = 8
MAX_DETAIL_CHARS = 1000

Verdict = Literal["accept", "revise"]
_REASONS = {
    "timeout": "time limit",
    "memory": "memory limit",
    "output_limit": "output limit",
    "file_limit": "file size limit",
    "exit_error": "runtime error",
    "killed": "runtime error",
}


@attrs.frozen
class GradeResult:
    """The outcome of grading: accept only when every test passed."""

    verdict: Verdict
    #: Passed weight / total weight * 100, rounded down.
    score: int
    passed: tuple[str, ...]
    #: (test name, reason): "wrong answer", "time limit", "memory limit", "output limit",
    #: "file size limit", "runtime error" or "checker error". The instructor's view: a
    #: student learns only what the problem's hidden detail allows (``comment``).
    failed: tuple[tuple[str, str], ...]
    #: For the student: what ``student_view`` lets them see of the failing tests, or the
    #: compiler's message. No test data.
    comment: str


@attrs.frozen
class CheckResult:
    """One public example: passed, or why not (a diff or the error; the student's own run)."""

    passed: bool
    detail: str


def outputs_match(expected: bytes, actual: bytes) -> bool:
    """Equal once trailing whitespace on every line and trailing blank lines are dropped: a missing
    final newline or a stray space is not a wrong answer, and students should not lose points to
    what they cannot see."""
    return _normalised(expected) == _normalised(actual)


def _normalised(data: bytes) -> list[str]:
    lines = [line.rstrip() for line in data.decode("utf-8", errors="replace").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def grade_submission(
    language: str,
    source: str,
    tests: TestSuite,
    limits: Limits = DEFAULT_LIMITS,
    *,
    hidden_detail: str = DEFAULT_HIDDEN_DETAIL,
) -> GradeResult:
    """Compile (if need be) and run ``source`` on every hidden test, in the sandbox.

    ``passed`` and ``failed`` are what ran (the instructor's view); ``score`` and
    ``comment``, which are sealed for the student, hold only what ``hidden_detail`` lets a
    student learn (``student_view``). Raises SandboxUnavailable when the sandbox cannot be
    used (nothing runs then), and UsageError for an unknown language or an oversized source.
    """
    reason = sandbox_available()
    if reason is not None:
        raise SandboxUnavailable(reason)
    program = prepare_program(language, source)
    if isinstance(program, CompileError):
        return GradeResult("revise", 0, (), (), f"compile error:\n{program.message}")
    outcomes = [_run_test(program, test, tests, limits) for test in tests.tests]
    shown = [student_view(hidden_detail, outcome) for outcome in outcomes]
    score = student_score(shown, {test.name: test.weight for test in tests.tests})
    verdict: Verdict = "accept" if all(t.passed for t in shown) else "revise"
    return GradeResult(
        verdict,
        score,
        tuple(t.name for t in outcomes if t.passed),
        tuple((t.name, t.reason) for t in outcomes if not t.passed),
        student_comment(shown, score, hidden_detail),
    )


def _run_test(program: Program, test: TestCase, tests: TestSuite, limits: Limits) -> TestOutcome:
    """How ``test`` went: passed, failed with a fixed reason, or (from a checker) a share of
    its weight with the checker's one-line message."""
    result = run_program(program, test.input, limits)
    if result.status != "ok":
        return TestOutcome(test.name, False, _REASONS[result.status])
    if tests.checker is None and tests.checker_program is None:
        if outputs_match(test.expected, result.stdout):
            return TestOutcome(test.name, True)
        return TestOutcome(test.name, False, "wrong answer")
    return _check(tests, test, result.stdout)


#: A checker's first line of output: a score from 0 to 1, then an optional message.
_SCORE_LINE = re.compile(r"\s*(0(?:\.\d+)?|1(?:\.0+)?|\.\d+)(?:\s+(.*))?")
MAX_CHECKER_MESSAGE = 200


def _check(tests: TestSuite, test: TestCase, actual: bytes) -> TestOutcome:
    """Run the instructor's checker in the sandbox on (input, expected, actual).

    It exits 0 for a right answer and non-zero for a wrong one; if the first line it prints
    is a number from 0 to 1, that is the share of the test's weight earned (partial credit),
    and the rest of the line a message for the student (shown as the problem's hidden-test
    detail allows). A crash, a signal or a limit is "checker error", never the student's.
    """
    files = {"input": test.input, "expected": test.expected, "actual": actual}
    if tests.checker_program is not None:
        files["checker"] = tests.checker_program
        argv = ["./checker", "input", "expected", "actual"]
        run = run_sandboxed(argv, files, executables=("checker",), limits=CHECKER_LIMITS)
    else:
        assert tests.checker is not None
        python = sandbox_python()
        assert python is not None  # sandbox_available() found one
        files["checker.py"] = tests.checker.encode("utf-8")
        argv = [python, "checker.py", "input", "expected", "actual"]
        run = run_sandboxed(argv, files, limits=CHECKER_LIMITS)
    crashed = b"Traceback (most recent call last)" in run.stderr
    if run.status not in ("ok", "exit_error") or crashed:
        return TestOutcome(test.name, False, "checker error")
    first = run.stdout.decode("utf-8", errors="replace").partition("\n")[0]
    scored = _SCORE_LINE.fullmatch(first)
    if scored is None:
        if run.status == "ok":
            return TestOutcome(test.name, True)
        return TestOutcome(test.name, False, "wrong answer")
    credit = float(scored.group(1))
    message = clean_message(scored.group(2) or "").replace("\n", " ")[:MAX_CHECKER_MESSAGE]
    if credit >= 1.0:
        return TestOutcome(test.name, True, "", message.strip(), 1.0)
    reason = "wrong answer" if credit <= 0.0 else f"partial credit ({credit:g})"
    return TestOutcome(test.name, False, reason, message.strip(), credit)


def self_check(
    language: str,
    source: str,
    examples: Sequence[tuple[str, str]],
    *,
    allow_unsandboxed_own_code: bool,
    limits: Limits = DEFAULT_LIMITS,
) -> list[CheckResult]:
    """Run a student's own ``source`` on the problem's public (input, expected) examples.

    Uses the sandbox when it works here. Without one, ``allow_unsandboxed_own_code=True``
    runs it as a plain subprocess with the same limits where possible: acceptable only
    because it is the student's own code on their own computer; otherwise this raises
    SandboxUnavailable. Details may show output and errors: the examples are public.
    """
    sandboxed = sandbox_available() is None
    if not sandboxed and not allow_unsandboxed_own_code:
        raise SandboxUnavailable(str(sandbox_available()))
    if not examples:
        return []
    program = prepare_program(language, source, sandboxed=sandboxed)
    if isinstance(program, CompileError):
        return [CheckResult(False, f"compile error:\n{program.message}")] * len(examples)
    return [
        _check_example(run_program(program, given.encode("utf-8"), limits), expected, limits)
        for given, expected in examples
    ]


def _check_example(result: RunResult, expected: str, limits: Limits) -> CheckResult:
    """Pass, or the first lines of the diff or error: public data and the student's own code."""
    if result.status == "ok":
        if outputs_match(expected.encode("utf-8"), result.stdout):
            return CheckResult(True, "")
        diff = difflib.unified_diff(
            _normalised(expected.encode("utf-8")),
            _normalised(result.stdout),
            "expected",
            "got",
            n=1,
            lineterm="",
        )
        return _failed(list(diff))
    if result.status == "timeout":
        seconds = f"{limits.cpu_seconds} s of CPU or {limits.wall_seconds:g} s in all"
        return _failed([f"time limit exceeded ({seconds})"])
    reason = _REASONS[result.status]
    if result.exit_code is not None and result.exit_code < 0:
        reason += f" (signal {-result.exit_code})"
    elif result.exit_code is not None:
        reason += f" (exit status {result.exit_code})"
    error = result.stderr.decode("utf-8", errors="replace").rstrip().splitlines()
    return _failed([reason, *error[1 - DETAIL_LINES :]])


def _failed(lines: list[str]) -> CheckResult:
    detail = clean_message("\n".join(lines[:DETAIL_LINES]))[:MAX_DETAIL_CHARS]
    return CheckResult(False, detail or "output differs")
