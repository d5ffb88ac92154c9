"""What a student learns of the hidden tests: one rule, applied before a grade is sealed.

A program under test controls how it fails. If the student were told why each hidden test
failed (memory, file size, runtime error, time, output, wrong answer), a program could pick
the failure from the test's input and carry about 2.6 bits of it out per test per graded
attempt. So the problem's ``hidden_detail`` (``peer.log.HIDDEN_DETAILS``) decides, and the
sealed verdict itself holds only what it allows (the UI hides nothing that was never there):

- ``names`` (the default): which tests failed, each just "failed"; the score counts a test
  only when it earned everything, so nothing per test is finer than pass or fail.
- ``verdicts``: each failed test's name and reason, a checker's message and partial credit.
- ``none``: no test named; the verdict and the score only.

The instructor still sees every reason in the grading terminal (``TestOutcome`` as run).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from peer.log import DEFAULT_HIDDEN_DETAIL, HIDDEN_DETAILS

__all__ = ["FAILED", "TestOutcome", "student_comment", "student_score", "student_view"]

#: What ``names`` and ``none`` say of every failed hidden test, whatever the reason.
FAILED = "failed"


@attrs.frozen
class TestOutcome:
    """One hidden test as it ran (the instructor's view), or as a student may see it."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    #: Why it failed: "wrong answer", "time limit", "memory limit", "output limit",
    #: "file size limit", "runtime error", "checker error"; empty when it passed.
    reason: str = ""
    #: What a checker said about it (issue 20); empty if nothing.
    message: str = ""
    #: The share of its weight it earned, 0 to 1 (a checker may give partial credit).
    credit: float = attrs.field()

    @credit.default
    def _credit(self) -> float:
        return 1.0 if self.passed else 0.0


def student_view(hidden_detail: str, outcome: TestOutcome) -> TestOutcome:
    """``outcome`` reduced to what a student may learn of it under ``hidden_detail``: the
    one function every part of grading (and any checker's message or partial credit) goes
    through before anything is sealed for the student."""
    if hidden_detail not in HIDDEN_DETAILS:
        raise ValueError(f"hidden detail {hidden_detail!r} is not one of {HIDDEN_DETAILS}")
    if hidden_detail == "verdicts":
        return outcome
    passed = outcome.passed and outcome.credit >= 1.0
    return TestOutcome(outcome.name, passed, "" if passed else FAILED)


def student_score(shown: Sequence[TestOutcome], weights: dict[str, int]) -> int:
    """Earned weight over total weight, times 100, rounded down, from the student's view: computed
    from what the student may see, so the score cannot tell more than the comment does."""
    total = sum(weights[t.name] for t in shown)
    if total == 0:
        return 0
    earned = sum(weights[t.name] * t.credit for t in shown)
    return int(earned * 100 // total)


def student_comment(
    shown: Sequence[TestOutcome], score: int, hidden_detail: str = DEFAULT_HIDDEN_DETAIL
) -> str:
    """The comment sealed in the grade: built from :func:`student_view` outcomes only, so no test
    input, expected output or program output can leak through it."""
    count = len(shown)
    failed = [t for t in shown if not t.passed]
    if not failed:
        return f"all {count} tests passed"
    if hidden_detail == "none":
        return f"not every hidden test passed (score {score})"
    lines = [f"passed {count - len(failed)} of {count} tests (score {score})", "failed:"]
    for t in failed:
        line = f"  {t.name}: {t.reason}"
        lines.append(f"{line}: {t.message}" if t.message else line)
    return "\n".join(lines)
