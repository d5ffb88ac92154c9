"""What the UI authors: event bodies built from form fields, checked, then appended through
``AsyncStore`` (the same store API the CLI uses). A refusal is a one-line ``FormError``.

Seam for the privacy work: when submissions and feedback are sealed, ``submission_body`` and
``feedback_body`` are the two places that must seal (the CLI's commands change the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from peer.errors import PeerclassError, ValidationError
from peer.identity import Membership
from peer.log import (
    CONTROL_RE,
    DEFAULT_LANGUAGES,
    DEFAULT_LATE_POLICY,
    MAX_CHAT_TEXT,
    MAX_CHECK_DETAIL,
    MAX_SOLUTION_BYTES,
    VERDICTS,
    Example,
    check_room,
    check_tag,
    normalize_newlines,
    seal,
)
from storage import AsyncStore, Store
from storage.queries import ChatMessage, Problem, next_attempt


class FormError(PeerclassError):
    """What was wrong with a form, in one line for the page: an English message id with
    ``{name}`` fields, translated where it is shown (``str()`` is the English text)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values


def check_text(text: str) -> str:
    """A message as typed (browsers send ``\r\n``) made into what is signed, or why not."""
    text = normalize_newlines(text)
    if not text.strip():
        raise FormError("the message is empty")
    if len(text) > MAX_CHAT_TEXT:
        raise FormError(
            "the message is {size:,} characters; the limit is {limit:,}. "
            "Split it, or share long text as a problem or submission.",
            size=len(text),
            limit=MAX_CHAT_TEXT,
        )
    if CONTROL_RE.search(text):
        raise FormError("the message contains control characters")
    return text


def chat_body(
    me: Membership,
    room: str,
    text: str,
    to: bytes | None = None,
    *,
    announcement: bool = False,
) -> dict[str, Any]:
    try:
        room = check_room(room)
    except ValidationError as exc:
        raise FormError(str(exc)) from None
    text = check_text(text)
    if to is None:
        body: dict[str, Any] = {"room": room, "text": text}
        if announcement:
            if not me.is_instructor:
                raise FormError("only the instructor posts announcements")
            body["announcement"] = True
        return body
    if to == me.peer_id:
        raise FormError("private messages are for someone else")
    if announcement:
        raise FormError("an announcement is for the whole class, not one person")
    return {"room": room, "to": to, "sealed": seal(me.signing_key, to, text)}


def edit_body(me: Membership, target: ChatMessage, text: str) -> dict[str, Any]:
    """A new text for one's own message (sealed again to its recipient if it was private)."""
    if target.author != me.peer_id:
        raise FormError("you can edit only your own messages")
    if target.deleted:
        raise FormError("that message was deleted")
    text = check_text(text)
    if target.recipient is None:
        return {"target": target.id, "text": text}
    return {
        "target": target.id,
        "to": target.recipient,
        "sealed": seal(me.signing_key, target.recipient, text),
    }


def delete_body(me: Membership, target: ChatMessage) -> dict[str, Any]:
    if target.author != me.peer_id:
        raise FormError("you can delete only your own messages")
    return {"target": target.id}


def parse_due(local: str, offset_minutes: str) -> int | None:
    """A ``datetime-local`` value plus the browser's UTC offset (minutes, as JavaScript's
    ``getTimezoneOffset`` gives it; 0 without script) as milliseconds since the epoch."""
    if not local.strip():
        return None
    try:
        naive = datetime.fromisoformat(local.strip())
        offset = int(offset_minutes or "0")
    except ValueError:
        raise FormError("due {value!r} is not a date and time", value=local) from None
    if naive.tzinfo is not None or not -1440 < offset < 1440:
        raise FormError("due {value!r} is not a local date and time", value=local)
    return int((naive.replace(tzinfo=UTC) + timedelta(minutes=offset)).timestamp() * 1000)


def problem_body(
    title: str,
    statement: str,
    examples: Sequence[tuple[str, str]],
    tags_text: str,
    due: int | None,
    supersedes: bytes | None,
    *,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    late_policy: str = DEFAULT_LATE_POLICY,
    review: str = "instructor",
) -> dict[str, Any]:
    tags = list(dict.fromkeys(t.strip() for t in tags_text.split(",") if t.strip()))
    try:
        for tag in tags:
            check_tag(tag)
    except ValidationError as exc:
        raise FormError(str(exc)) from None
    if not title.strip():
        raise FormError("the problem needs a title")
    title = normalize_newlines(title)
    body: dict[str, Any] = {
        "title": title.strip(),
        "statement": normalize_newlines(statement),
        "examples": [
            Example(normalize_newlines(i), normalize_newlines(o)).to_body()
            for i, o in examples
            if i.strip() or o.strip()
        ],
        "tags": tags,
    }
    if due is not None:
        body["due"] = due
    if not languages:
        raise FormError("choose at least one language solutions may be in")
    if tuple(languages) != DEFAULT_LANGUAGES:  # defaults are left out: older peers know them
        body["languages"] = list(languages)
    if late_policy != DEFAULT_LATE_POLICY:
        body["late_policy"] = late_policy
    if review != "instructor":
        body["review"] = review
    if supersedes is not None:
        body["supersedes"] = supersedes
    return body


def solution_text(pasted: str, uploaded: bytes | None) -> str:
    """The solution from an uploaded file (if any) or the pasted text."""
    if uploaded:
        if len(uploaded) > MAX_SOLUTION_BYTES:
            raise FormError(
                "the file is {size:,} bytes; the limit is {limit:,}",
                size=len(uploaded),
                limit=MAX_SOLUTION_BYTES,
            )
        try:
            pasted = uploaded.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError("the file is not UTF-8 text") from None
    text = normalize_newlines(pasted)
    if not text.strip():
        raise FormError("paste your solution or choose a file")
    if len(text.encode()) > MAX_SOLUTION_BYTES:
        raise FormError(
            "the solution is {size:,} bytes; the limit is {limit:,}",
            size=len(text.encode()),
            limit=MAX_SOLUTION_BYTES,
        )
    return text


def check_language(language: str, problem: Problem) -> str:
    if language not in problem.languages:
        raise FormError(
            "{title!r} accepts {accepted}, not {language!r}",
            title=problem.title,
            accepted=", ".join(problem.languages),
            language=language,
        )
    return language


@attrs.frozen
class SelfCheck:
    """Each example's result as a submission carries it, or why none could run here."""

    checks: tuple[dict[str, Any], ...]
    not_run: str | None = None

    @property
    def passed(self) -> int:
        return sum(1 for c in self.checks if c["passed"])


def self_check(language: str, solution: str, problem: Problem) -> SelfCheck:
    """Run the student's own code on the problem's public examples (blocking). A dry run:
    nothing is stored. Uses the grading engine's sandbox when there is one."""
    from peer.grading import self_check as grading_self_check

    try:
        results = grading_self_check(
            language,
            solution,
            [(e.input, e.output) for e in problem.examples],
            allow_unsandboxed_own_code=True,
        )
    except (OSError, PeerclassError) as exc:  # e.g. no C compiler on this computer
        return SelfCheck((), str(exc))
    return SelfCheck(
        tuple(
            {"passed": r.passed, "detail": CONTROL_RE.sub("?", r.detail)[:MAX_CHECK_DETAIL]}
            for r in results
        )
    )


def submission_body(
    store: Store, me: Membership, problem: Problem, language: str, solution: str
) -> dict[str, Any]:
    """The submission event body, self-check included (blocking). ``Store.append`` seals
    what is private (issue 10)."""
    check = self_check(language, solution, problem)
    return {
        "problem": problem.root,
        "attempt": next_attempt(store, me.peer_id, problem.root),
        "language": language,
        "solution": solution,
        "checks": list(check.checks),
    }


def feedback_body(
    submission: bytes, verdict: str, score: str, comment: str, supersedes: bytes | None
) -> dict[str, Any]:
    if verdict not in VERDICTS:
        raise FormError("choose a verdict: accept or revise")
    comment = normalize_newlines(comment)
    if not comment.strip():
        raise FormError("write a comment: what is good, what to change")
    if CONTROL_RE.search(comment):
        raise FormError("the comment contains control characters")
    body: dict[str, Any] = {"submission": submission, "verdict": verdict, "comment": comment}
    if score.strip():
        try:
            value = int(score)
        except ValueError:
            raise FormError("score {score!r} is not a whole number", score=score) from None
        if not 0 <= value <= 100:
            raise FormError("score {score} is outside 0-100", score=value)
        body["score"] = value
    if supersedes is not None:
        body["supersedes"] = supersedes
    return body


async def append(store: AsyncStore, me: Membership, kind: str, body: dict[str, Any]) -> bytes:
    """Sign and store one event; the store's own refusal becomes a FormError."""
    try:
        event = await store.append(me.signing_key, kind, body)
    except PeerclassError as exc:  # a body the schema refuses; authoring blocked (a twin)
        raise FormError(str(exc)) from None
    return event.id
