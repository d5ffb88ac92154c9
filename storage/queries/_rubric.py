"""What rubric points combine with (issue 20): the latest instructor-weight feedback's tests
score and rubric points on a submission, whoever gave them (the instructor or a TA)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.queries._curriculum import list_feedback
from storage.queries._term import feedback_terms

if TYPE_CHECKING:
    from storage._store import Store


def staff_tests_score(store: Store, instructor: bytes, submission_id: bytes) -> int | None:
    """The tests' score the latest instructor-weight feedback on a submission recorded (what
    rubric points combine with), if any."""
    staff = [
        f
        for f in list_feedback(store, instructor, submission=submission_id)
        if f.role == "instructor"
    ]
    terms = feedback_terms(store, [f.id for f in staff])
    scored = [f for f in staff if f.id in terms and terms[f.id].tests_score is not None]
    if not scored:
        return None
    return terms[max(scored, key=lambda f: (f.ts, f.id)).id].tests_score


def staff_rubric_points(store: Store, instructor: bytes, submission_id: bytes) -> dict[str, int]:
    """The rubric points the latest instructor-weight feedback on a submission gave."""
    staff = [
        f
        for f in list_feedback(store, instructor, submission=submission_id)
        if f.role == "instructor"
    ]
    terms = feedback_terms(store, [f.id for f in staff])
    given = [f for f in staff if f.id in terms and terms[f.id].rubric]
    if not given:
        return {}
    return terms[max(given, key=lambda f: (f.ts, f.id)).id].rubric
