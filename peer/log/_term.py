"""What a term adds to the curriculum kinds (issue 20): late penalties, rubrics, the hash of
the tests a grade came from, and per-student extensions.

Pure like every schema here: the body alone decides, so every peer agrees. The arithmetic
every reader must do alike (days late, a penalty, tests and rubric combined into one score)
lives here too, so the CLI, the report and the web UI cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from peer.errors import ValidationError
from peer.log._checks import Body, check_id, check_keys, check_text
from peer.log._sealing import check_envelope

DAY_MS = 86_400_000
MAX_CRITERIA = 20
MAX_CRITERION_POINTS = 1000
MAX_TESTS_POINTS = 1000
MAX_CRITERION_TEXT = 500
_CRITERION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_HASH_RE = re.compile(r"[0-9a-f]{64}")
#: The extension's visible field; the student and the new due date travel sealed.
EXTENSION_VISIBLE = ("problem",)


def _int(what: str, value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValidationError(f"{what} must be a whole number from {low} to {high}")
    return value


# ---- problems: penalty and rubric -----------------------------------------------------------

#: The optional keys a problem body may carry for this issue.
PROBLEM_TERM_KEYS = {"late_penalty", "late_cap", "rubric"}


def check_problem_term(body: Body) -> None:
    """``late_penalty`` (points of 100 per started day late), ``late_cap`` (the most taken
    off), ``rubric`` (``check_rubric``)."""
    if "late_penalty" in body:
        _int("problem late_penalty", body["late_penalty"], 0, 100)
    if "late_cap" in body:
        _int("problem late_cap", body["late_cap"], 0, 100)
    if "rubric" in body:
        check_rubric(body["rubric"])


def check_rubric(rubric: Any) -> None:
    """``{"tests": POINTS, "criteria": [{"name", "points", "description"}, ...]}``: the
    hidden tests' score is worth ``tests`` points beside the criteria's points."""
    if not isinstance(rubric, dict):
        raise ValidationError("problem rubric is not a map")
    check_keys("problem rubric", rubric, {"tests", "criteria"}, set())
    tests = _int("rubric tests", rubric["tests"], 0, MAX_TESTS_POINTS)
    criteria = rubric["criteria"]
    if not isinstance(criteria, list) or not 1 <= len(criteria) <= MAX_CRITERIA:
        raise ValidationError(f"rubric criteria must be a list of 1 to {MAX_CRITERIA}")
    names = set()
    for criterion in criteria:
        if not isinstance(criterion, dict):
            raise ValidationError("rubric criterion is not a map")
        check_keys("rubric criterion", criterion, {"name", "points", "description"}, set())
        name = criterion["name"]
        if not isinstance(name, str) or not _CRITERION_RE.fullmatch(name):
            raise ValidationError(
                f"rubric criterion name {name!r} is not valid: letters, digits, '_', '.', '-', "
                "at most 32"
            )
        if name in names:
            raise ValidationError(f"rubric criterion {name!r} is named twice")
        names.add(name)
        _int(f"rubric criterion {name!r} points", criterion["points"], 1, MAX_CRITERION_POINTS)
        check_text(
            "rubric criterion",
            criterion,
            "description",
            max_len=MAX_CRITERION_TEXT,
            allow_empty=True,
            one_line=True,
        )
    if tests == 0 and not criteria:
        raise ValidationError("a rubric needs test points or criteria")


def rubric_total(rubric: Mapping[str, Any]) -> int:
    return int(rubric["tests"]) + sum(int(c["points"]) for c in rubric["criteria"])


def combined_score(
    rubric: Mapping[str, Any], tests_score: int | None, points: Mapping[str, int]
) -> int:
    """Tests and rubric as one score of 100, rounded down: the tests' score (of 100) scaled
    to the rubric's ``tests`` points, plus the criteria's points given, over all points."""
    earned = (tests_score or 0) * int(rubric["tests"]) / 100 + sum(points.values())
    return int(earned * 100 // rubric_total(rubric))


def check_rubric_points(rubric: Mapping[str, Any], points: Mapping[str, int]) -> None:
    """Points given name criteria of ``rubric``, each within its maximum."""
    maxima = {c["name"]: c["points"] for c in rubric["criteria"]}
    for name, value in points.items():
        if name not in maxima:
            raise ValidationError(
                f"the rubric has no criterion {name!r}; it has {', '.join(sorted(maxima))}"
            )
        if type(value) is not int or not 0 <= value <= maxima[name]:
            raise ValidationError(f"criterion {name!r} takes 0 to {maxima[name]} points")


# ---- feedback: tests hash, tests score, rubric points ---------------------------------------

#: The optional keys of a feedback's (sealed) inner body for this issue.
FEEDBACK_TERM_KEYS = {"tests", "tests_score", "rubric"}


def check_feedback_term(body: Body) -> None:
    """``tests``: the hex BLAKE2b-256 of the test folder a grade came from; ``tests_score``:
    the tests' score before any rubric; ``rubric``: criterion -> points given."""
    if "tests" in body and (
        not isinstance(body["tests"], str) or not _HASH_RE.fullmatch(body["tests"])
    ):
        raise ValidationError("feedback tests is not a 64-digit hex hash")
    if "tests_score" in body:
        _int("feedback tests_score", body["tests_score"], 0, 100)
    if "rubric" in body:
        points = body["rubric"]
        if not isinstance(points, dict) or len(points) > MAX_CRITERIA:
            raise ValidationError(f"feedback rubric must map up to {MAX_CRITERIA} criteria")
        for name, value in points.items():
            if not isinstance(name, str) or not _CRITERION_RE.fullmatch(name):
                raise ValidationError(f"feedback rubric criterion {name!r} is not valid")
            _int(f"feedback rubric {name!r}", value, 0, MAX_CRITERION_POINTS)


# ---- extensions -----------------------------------------------------------------------------


def validate_extension(body: Body) -> None:
    """``{problem, sealed}``, or in the clear ``{problem, student, due}``."""
    if "sealed" in body:
        check_keys("extension", body, {"problem", "sealed"}, set())
        check_id("extension", body, "problem")
        check_envelope("extension", body["sealed"])
        return
    check_keys("extension", body, {"problem", "student", "due"}, set())
    check_id("extension", body, "problem")
    validate_extension_inner({k: body[k] for k in ("student", "due")})


def validate_extension_inner(body: Body) -> None:
    check_keys("extension", body, {"student", "due"}, set())
    check_id("extension", body, "student")
    _int("extension due", body["due"], 1, 2**53)


# ---- lateness -------------------------------------------------------------------------------


def days_late(at_ms: int, due_ms: int | None, grace_ms: int) -> int:
    """Started days after ``due_ms`` of work made at ``at_ms``; 0 when within the grace."""
    if due_ms is None or at_ms <= due_ms + grace_ms:
        return 0
    return max(1, -(-(at_ms - due_ms) // DAY_MS))


def penalty(late_penalty: int, late_cap: int, late_days: int) -> int:
    """Points of 100 taken off for ``late_days`` started days late."""
    return min(late_cap, late_penalty * late_days) if late_days > 0 else 0
