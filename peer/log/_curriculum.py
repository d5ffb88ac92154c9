"""Body schemas of the curriculum kinds: ``problem``, ``submission`` and ``feedback``.

Like every schema these look at the body alone, so each peer reaches the same verdict on the
same event. Rules about the author's own earlier events (attempt numbers, what a revision may
supersede) are the projectors' job (storage.curriculum).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from peer.errors import ValidationError
from peer.log._checks import Body, check_id, check_keys, check_text
from peer.log._sealing import check_envelope
from peer.log._term import (
    FEEDBACK_TERM_KEYS,
    PROBLEM_TERM_KEYS,
    check_feedback_term,
    check_problem_term,
)
from peer.log.hlc import MAX_DRIFT_MS, to_ms

MAX_TITLE = 200
MAX_STATEMENT = 64_000
MAX_EXAMPLES = 20
MAX_EXAMPLE_TEXT = 16_000
MAX_TAGS = 16
MAX_TAG = 32
MAX_SOLUTION_BYTES = 64 * 1024
MAX_CHECK_DETAIL = 2_000
MAX_COMMENT = 16_000
MAX_ATTEMPT = 10_000
MAX_DUE_MS = 2**53
VERDICTS = ("accept", "revise")
#: Who reads a problem's submissions: the instructor only, or also classmates who submitted.
REVIEW_MODES = ("instructor", "peers")
#: What happens to work submitted after the due date: ``accept`` it as on time, ``mark`` it
#: late (the default), or mark it and have ``peerclass grade`` refuse to grade it.
LATE_POLICIES = ("accept", "mark", "refuse-grade")
DEFAULT_LATE_POLICY = "mark"
#: What a student learns of a failed hidden test (``peer.grading.student_view``): its name
#: only (the default: which tests failed, not why), its name and reason, or nothing per test.
HIDDEN_DETAILS = ("names", "verdicts", "none")
DEFAULT_HIDDEN_DETAIL = "names"
#: What a problem accepts when it does not say (problems made before languages existed).
DEFAULT_LANGUAGES = ("python",)
MAX_LANGUAGES = 8
_TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+#-]*")
_LANGUAGE_RE = re.compile(r"[a-z][a-z0-9+#._-]{0,31}")


@attrs.frozen
class Example:
    """One example of a stdin/stdout problem: what the program reads and should print."""

    input: str
    output: str

    def to_body(self) -> dict[str, str]:
        return {"input": self.input, "output": self.output}


def _check_int(kind: str, key: str, value: Any, low: int, high: int) -> int:
    """An integer (not a bool) within [low, high]."""
    if type(value) is not int or not low <= value <= high:
        raise ValidationError(f"{kind} {key} must be a whole number from {low} to {high}")
    return value


def _check_list(kind: str, key: str, value: Any, max_len: int) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(f"{kind} {key} is not a list")
    if len(value) > max_len:
        raise ValidationError(f"{kind} has {len(value)} {key}; the limit is {max_len}")
    return value


def check_tag(tag: Any) -> str:
    """Tags are short words: letters, digits and ``_ . + # -``."""
    if not isinstance(tag, str) or len(tag) > MAX_TAG or not _TAG_RE.fullmatch(tag):
        raise ValidationError(
            f"tag {tag!r} is not valid: use letters, digits, '_', '.', '+', '#' or '-', "
            f"at most {MAX_TAG}"
        )
    return tag


def check_language(language: Any) -> str:
    if not isinstance(language, str) or not _LANGUAGE_RE.fullmatch(language):
        raise ValidationError(f"language {language!r} is not a short lower-case name")
    return language


def validate_problem(body: Body) -> None:
    check_keys(
        "problem",
        body,
        {"title", "statement", "examples", "tags"},
        {
            "due",
            "supersedes",
            "languages",
            "late_policy",
            "review",
            "hidden_detail",
            "graded_attempts",
            *PROBLEM_TERM_KEYS,
        },
    )
    check_problem_term(body)
    if body.get("review", "instructor") not in REVIEW_MODES:
        raise ValidationError(f"problem review {body['review']!r} is not one of instructor, peers")
    check_text("problem", body, "title", max_len=MAX_TITLE, one_line=True)
    check_text("problem", body, "statement", max_len=MAX_STATEMENT, one_line=False)
    for example in _check_list("problem", "examples", body["examples"], MAX_EXAMPLES):
        if not isinstance(example, dict):
            raise ValidationError("problem example is not a map")
        check_keys("problem example", example, {"input", "output"}, set())
        for key in ("input", "output"):
            check_text(
                "problem example",
                example,
                key,
                max_len=MAX_EXAMPLE_TEXT,
                allow_empty=True,
                one_line=False,
            )
    tags = _check_list("problem", "tags", body["tags"], MAX_TAGS)
    for tag in tags:
        check_tag(tag)
    if len(set(tags)) != len(tags):
        raise ValidationError("problem tags repeat")
    if body.get("due") is not None:
        _check_int("problem", "due", body["due"], 1, MAX_DUE_MS)
    check_id("problem", body, "supersedes", optional=True)
    if "languages" in body:
        languages = _check_list("problem", "languages", body["languages"], MAX_LANGUAGES)
        if not languages:
            raise ValidationError("problem languages is empty; name at least one")
        for language in languages:
            check_language(language)
        if len(set(languages)) != len(languages):
            raise ValidationError("problem languages repeat")
    if "hidden_detail" in body and body["hidden_detail"] not in HIDDEN_DETAILS:
        raise ValidationError(
            f"problem hidden_detail {body['hidden_detail']!r} is not one of "
            f"{', '.join(HIDDEN_DETAILS)}"
        )
    if body.get("graded_attempts") is not None:
        _check_int("problem", "graded_attempts", body["graded_attempts"], 1, MAX_ATTEMPT)
    if "late_policy" in body and body["late_policy"] not in LATE_POLICIES:
        raise ValidationError(
            f"problem late_policy {body['late_policy']!r} is not one of {', '.join(LATE_POLICIES)}"
        )


#: A submission is late when its author's clock put it more than this after the due time:
#: the HLC lets a clock be pushed this far ahead by a fast clock it has seen, so an honest
#: submission stamped within it may have been made on time.
LATE_GRACE_MS = MAX_DRIFT_MS


def is_late(ts: int, due_ms: int | None, late_policy: str) -> bool:
    """Whether a submission stamped ``ts`` (HLC) counts as late for a problem due ``due_ms``."""
    if due_ms is None or late_policy == "accept":
        return False
    return to_ms(ts) > due_ms + LATE_GRACE_MS


#: The visible fields of a sealed submission and feedback; the rest travels sealed.
SUBMISSION_VISIBLE = ("problem", "attempt")
FEEDBACK_VISIBLE = ("submission", "supersedes")


def validate_submission(body: Body) -> None:
    if "sealed" in body:
        # Sealed (issue 10): content, language and self-check travel in the envelope.
        check_keys("submission", body, {"problem", "attempt", "sealed"}, set())
        check_id("submission", body, "problem")
        _check_int("submission", "attempt", body["attempt"], 1, MAX_ATTEMPT)
        check_envelope("submission", body["sealed"])
        return
    check_keys("submission", body, {"problem", "attempt", "language", "solution", "checks"}, set())
    check_id("submission", body, "problem")
    _check_int("submission", "attempt", body["attempt"], 1, MAX_ATTEMPT)
    validate_submission_inner({k: body[k] for k in ("language", "solution", "checks")})


def validate_submission_inner(body: Body) -> None:
    """The sealed part of a submission (or those fields of an unsealed one)."""
    check_keys("submission", body, {"language", "solution", "checks"}, set())
    check_language(body["language"])
    solution = check_text(
        "submission", body, "solution", max_len=MAX_SOLUTION_BYTES, one_line=False
    )
    size = len(solution.encode())
    if size > MAX_SOLUTION_BYTES:
        raise ValidationError(
            f"submission solution is {size} bytes; the limit is {MAX_SOLUTION_BYTES} (64 KiB)"
        )
    for check in _check_list("submission", "checks", body["checks"], MAX_EXAMPLES):
        if not isinstance(check, dict):
            raise ValidationError("submission check is not a map")
        check_keys("submission check", check, {"passed", "detail"}, set())
        if not isinstance(check["passed"], bool):
            raise ValidationError("submission check passed is not true or false")
        check_text(
            "submission check",
            check,
            "detail",
            max_len=MAX_CHECK_DETAIL,
            allow_empty=True,
            one_line=False,
        )


def validate_feedback(body: Body) -> None:
    if "sealed" in body:
        check_keys("feedback", body, {"submission", "sealed"}, {"supersedes"})
        check_id("feedback", body, "submission")
        check_id("feedback", body, "supersedes", optional=True)
        check_envelope("feedback", body["sealed"])
        return
    check_keys(
        "feedback",
        body,
        {"submission", "verdict", "comment"},
        {"score", "supersedes", *FEEDBACK_TERM_KEYS},
    )
    check_id("feedback", body, "submission")
    check_id("feedback", body, "supersedes", optional=True)
    validate_feedback_inner({k: v for k, v in body.items() if k not in FEEDBACK_VISIBLE})


def validate_feedback_inner(body: Body) -> None:
    """The sealed part of feedback (or those fields of unsealed feedback)."""
    check_keys("feedback", body, {"verdict", "comment"}, {"score", *FEEDBACK_TERM_KEYS})
    check_feedback_term(body)
    if body["verdict"] not in VERDICTS:
        raise ValidationError(
            f"feedback verdict {body['verdict']!r} is not one of {', '.join(VERDICTS)}"
        )
    if body.get("score") is not None:
        _check_int("feedback", "score", body["score"], 0, 100)
    check_text("feedback", body, "comment", max_len=MAX_COMMENT, one_line=False)
