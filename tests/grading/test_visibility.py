"""The one rule for what a student learns of a hidden test (``peer.grading.student_view``)."""

from __future__ import annotations

import pytest

from peer.grading import TestOutcome, student_comment, student_score, student_view

REASONS = ("wrong answer", "time limit", "memory limit", "output limit", "runtime error")


@pytest.mark.parametrize("detail", ["names", "none"])
def test_every_failure_reason_looks_the_same_unless_verdicts_are_shown(detail: str) -> None:
    shown = {
        student_view(detail, TestOutcome("t", False, reason, message=f"saw {reason}"))
        for reason in REASONS
    }
    assert shown == {TestOutcome("t", False, "failed")}


def test_partial_credit_and_messages_only_with_verdicts() -> None:
    half = TestOutcome("t", True, "", message="close enough", credit=0.5)
    assert student_view("verdicts", half) == half
    assert student_view("names", half) == TestOutcome("t", False, "failed", credit=0.0)
    weights = {"t": 1, "u": 3}
    full = TestOutcome("u", True)
    assert student_score([student_view("verdicts", half), full], weights) == 87
    assert student_score([student_view("names", half), full], weights) == 75


def test_comments_follow_the_detail() -> None:
    shown = [TestOutcome("a", True), TestOutcome("b", False, "failed")]
    assert student_comment(shown, 50, "names") == (
        "passed 1 of 2 tests (score 50)\nfailed:\n  b: failed"
    )
    assert student_comment(shown, 50, "none") == "not every hidden test passed (score 50)"
    assert student_comment(shown[:1], 100, "none") == "all 1 tests passed"


def test_an_unknown_detail_is_refused() -> None:
    with pytest.raises(ValueError, match="'all'"):
        student_view("all", TestOutcome("t", True))
