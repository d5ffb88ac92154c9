"""The publish form's grading settings: who reviews, what a student sees of failed hidden tests,
how many attempts are graded (issue 18), the late penalty and the rubric (issue 20).

The same settings as ``problem publish`` (``--review``, ``--hidden-detail``,
``--graded-attempts``, ``--late-penalty``/``--late-cap``, ``--rubric``), refused for the same
reasons. A revision carries only what its form sends, so the form is filled from the revised
problem's own event body: republishing from the browser keeps what the command line set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from peer.errors import ValidationError
from peer.log import (
    DEFAULT_HIDDEN_DETAIL,
    HIDDEN_DETAILS,
    MAX_ATTEMPT,
    REVIEW_MODES,
    parse_rubric,
    rubric_text,
)
from peer.web._authoring import FormError
from peer.web._context import N_
from storage import Store

#: The form's fields these settings use, and their values on a new problem.
DEFAULTS = {
    "review": "instructor",
    "hidden_detail": DEFAULT_HIDDEN_DETAIL,
    "graded_attempts": "",
    "late_penalty": "",
    "late_cap": "",
    "rubric": "",
}


def _whole(text: str, low: int, high: int, refusal: str) -> int | None:
    """A form's whole number within ``low``..``high``; None when left empty."""
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise FormError(refusal, value=text) from None
    if not low <= value <= high:
        raise FormError(refusal, value=text)
    return value


def settings_body(typed: Mapping[str, str]) -> dict[str, Any]:
    """The problem body's fields the typed settings give; defaults are left out, as the
    command line leaves them out (older peers know them)."""
    body: dict[str, Any] = {}
    review = typed.get("review") or "instructor"
    if review not in REVIEW_MODES:
        raise FormError("choose who reviews: the instructor or classmates too")
    if review != "instructor":
        body["review"] = review
    detail = typed.get("hidden_detail") or DEFAULT_HIDDEN_DETAIL
    if detail not in HIDDEN_DETAILS:
        raise FormError("choose what a student sees of a failed hidden test")
    if detail != DEFAULT_HIDDEN_DETAIL:
        body["hidden_detail"] = detail
    attempts = _whole(
        typed.get("graded_attempts", ""),
        1,
        MAX_ATTEMPT,
        N_("graded attempts {value!r} is not a whole number of at least 1"),
    )
    if attempts is not None:
        body["graded_attempts"] = attempts
    per_day = _whole(
        typed.get("late_penalty", ""),
        0,
        100,
        N_("late penalty {value!r} is not a whole number from 0 to 100"),
    )
    cap = _whole(
        typed.get("late_cap", ""),
        0,
        100,
        N_("late penalty cap {value!r} is not a whole number from 0 to 100"),
    )
    if cap is not None and per_day is None:
        raise FormError("a cap on the late penalty needs a penalty per day")
    if per_day is not None:
        body["late_penalty"] = per_day
    if cap is not None:
        body["late_cap"] = cap
    rubric = typed.get("rubric", "")
    if rubric.strip():
        try:
            body["rubric"] = parse_rubric(rubric.replace("\r\n", "\n"))
        except ValidationError as exc:
            raise FormError("rubric: {why}", why=str(exc)) from None
    return body


def terms_of(store: Store, problem_id: bytes) -> dict[str, Any]:
    """One revision's settings as its event says them, defaults filled in (blocking): for the
    staff's view of a problem."""
    event = store.event_by_id(problem_id)
    body = event.body if event is not None else {}
    return {
        "review": body.get("review", "instructor"),
        "hidden_detail": body.get("hidden_detail", DEFAULT_HIDDEN_DETAIL),
        "graded_attempts": body.get("graded_attempts"),
        "late_penalty": body.get("late_penalty"),
        "late_cap": body.get("late_cap"),
        "rubric": body.get("rubric"),
    }


def settings_of(store: Store, problem_id: bytes) -> dict[str, str]:
    """The form's settings fields as one revision of a problem set them (blocking)."""
    terms = terms_of(store, problem_id)
    found = {name: "" if value is None else str(value) for name, value in terms.items()}
    if terms["rubric"] is not None:
        found["rubric"] = rubric_text(terms["rubric"])
    return found


def settings_typed(form: Mapping[str, Any]) -> dict[str, str]:
    """The settings fields as a refused form sent them, to show them again."""
    return {name: value if isinstance(value := form.get(name), str) else "" for name in DEFAULTS}
