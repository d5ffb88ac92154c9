"""Rubric scoring in the browser (issue 20): the criteria of a submission's problem, for the
instructor's or a TA's feedback form, and the fields their points add to the feedback.

The rule is the command line's (``feedback give --rubric``): points per criterion within its
maximum, combined with the tests' score of the latest instructor-weight feedback as the
rubric file says (``peer.log.combined_score``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from peer.errors import ValidationError
from peer.identity import Membership
from peer.log import check_rubric_points, combined_score
from peer.web._authoring import FormError
from storage import Store
from storage.queries import (
    newest_revision,
    problem_terms,
    staff_rubric_points,
    staff_tests_score,
    submission_ref,
)


@attrs.frozen
class Criterion:
    name: str
    points: int  # the most it gives
    description: str
    given: int | None  # the points the latest instructor-weight feedback gave


@attrs.frozen
class RubricForm:
    criteria: tuple[Criterion, ...]
    tests: int  # what the tests' score is worth
    tests_score: int | None


def _rubric(store: Store, me: Membership, sid: bytes) -> Mapping[str, Any] | None:
    ref = submission_ref(store, sid)
    if ref is None:
        return None
    problem = newest_revision(store, ref.problem, me.klass.instructor)
    return None if problem is None else problem_terms(store)[problem.root].rubric


def rubric_form(store: Store, me: Membership, sid: bytes) -> RubricForm | None:
    """The form's rubric part, for the instructor or a TA on a problem with a rubric."""
    if not me.is_staff:
        return None
    rubric = _rubric(store, me, sid)
    if rubric is None:
        return None
    given = staff_rubric_points(store, me.klass.instructor, sid)
    criteria = tuple(
        Criterion(c["name"], c["points"], c["description"], given.get(c["name"]))
        for c in rubric["criteria"]
    )
    return RubricForm(criteria, rubric["tests"], staff_tests_score(store, me.klass.instructor, sid))


def rubric_fields(
    store: Store, me: Membership, sid: bytes, typed: Mapping[str, str]
) -> dict[str, Any]:
    """The feedback fields the form's ``rubric-NAME`` inputs give (none left empty: none)."""
    points: dict[str, int] = {}
    for name, text in typed.items():
        if not text.strip():
            continue
        try:
            points[name] = int(text)
        except ValueError:
            raise FormError("rubric points for {name} must be a whole number", name=name) from None
    if not points:
        return {}
    if not me.is_staff:
        raise FormError("rubric points are given by the instructor or a TA")
    rubric = _rubric(store, me, sid)
    if rubric is None:
        raise FormError("this problem has no rubric")
    try:
        check_rubric_points(rubric, points)
    except ValidationError as exc:
        raise FormError(str(exc)) from None
    tests_score = staff_tests_score(store, me.klass.instructor, sid)
    return {
        "rubric": points,
        "tests_score": tests_score or 0,
        "score": combined_score(rubric, tests_score, points),
    }
