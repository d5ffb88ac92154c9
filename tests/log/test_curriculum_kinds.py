"""Body schemas of problem, submission and feedback: what every peer refuses on sight."""

from __future__ import annotations

from typing import Any

import nacl.signing
import pytest

from peer.errors import ValidationError
from peer.log import hlc
from peer.log._codec import pack
from peer.log._curriculum import MAX_SOLUTION_BYTES
from peer.log._events import EVENT_VERSION, decode_event, make_event
from peer.log._kinds import validate_body

ID = bytes(range(32))


def problem(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Sum",
        "statement": "Add two numbers.\n\nRead them from stdin.",
        "examples": [{"input": "2 3\n", "output": "5\n"}, {"input": "", "output": ""}],
        "tags": ["intro", "c++"],
    }
    return body | changes


def submission(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "problem": ID,
        "attempt": 1,
        "language": "python",
        "solution": "print(sum(map(int, input().split())))\n",
        "checks": [{"passed": True, "detail": ""}, {"passed": False, "detail": "-5\n+6"}],
    }
    return body | changes


def feedback(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"submission": ID, "verdict": "accept", "comment": "Neat *and* short."}
    return body | changes


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("problem", problem()),
        ("problem", problem(due=1_900_000_000_000, supersedes=ID, examples=[], tags=[])),
        ("submission", submission()),
        ("submission", submission(checks=[], language="c++", attempt=7)),
        ("feedback", feedback()),
        ("feedback", feedback(score=0, supersedes=ID, verdict="revise")),
        ("feedback", feedback(score=100)),
    ],
)
def test_valid_bodies_pass_and_round_trip(kind: str, body: dict[str, Any]) -> None:
    validate_body(kind, body)
    key = nacl.signing.SigningKey.generate()
    event = make_event(key, seq=1, prev=None, ts=hlc.from_ms(1), kind=kind, body=body)
    assert decode_event(event.raw).body == event.body


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("problem", problem(title=""), "problem title is empty"),
        ("problem", problem(title="two\nlines"), "one line"),
        ("problem", problem(statement=7), "problem statement is not text"),
        ("problem", problem(examples=[{"input": "1"}]), "lacks output"),
        ("problem", problem(examples=["1"]), "example is not a map"),
        ("problem", problem(examples=[{"input": "1", "output": "1"}] * 21), "the limit is 20"),
        ("problem", problem(tags=["has space"]), "is not valid"),
        ("problem", problem(tags=["a", "a"]), "tags repeat"),
        ("problem", problem(due=1.5), "due must be a whole number"),
        ("problem", problem(due=True), "due must be a whole number"),
        ("problem", problem(supersedes=b"short"), "supersedes is not a 32-byte id"),
        ("problem", problem(extra=1), "unknown fields extra"),
        ("submission", submission(problem=ID.hex()), "problem is not a 32-byte id"),
        ("submission", submission(attempt=0), "attempt must be a whole number"),
        ("submission", submission(attempt="1"), "attempt must be a whole number"),
        ("submission", submission(language="Python 3"), "short lower-case name"),
        ("submission", submission(solution=""), "solution is empty"),
        ("submission", submission(solution="x" * (MAX_SOLUTION_BYTES + 1)), "the limit"),
        ("submission", submission(solution="é" * (MAX_SOLUTION_BYTES // 2 + 1)), "64 KiB"),
        ("submission", submission(checks=[{"passed": 1, "detail": ""}]), "true or false"),
        ("submission", submission(checks=[{"passed": True}]), "lacks detail"),
        ("submission", submission(checks=None), "checks is not a list"),
        ("feedback", feedback(verdict="maybe"), "not one of accept, revise"),
        ("feedback", feedback(score=101), "score must be a whole number from 0 to 100"),
        ("feedback", feedback(score=-1), "score must be a whole number from 0 to 100"),
        ("feedback", feedback(score=99.5), "score must be a whole number"),
        ("feedback", feedback(comment=" "), "comment is empty"),
        ("feedback", feedback(submission=None), "submission is not a 32-byte id"),
        ("feedback", {"submission": ID, "verdict": "accept"}, "lacks comment"),
    ],
)
def test_invalid_bodies_are_refused(kind: str, body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_body(kind, body)


def test_a_peer_refuses_a_signed_event_whose_body_breaks_the_schema() -> None:
    """Signed by its author but never validated: decode_event refuses it on receipt."""
    key = nacl.signing.SigningKey.generate()
    fields = [
        EVENT_VERSION,
        bytes(key.verify_key),
        1,
        None,
        hlc.from_ms(1),
        "feedback",
        feedback(score=250),
    ]
    signed = pack(fields)
    raw = signed + key.sign(signed).signature
    with pytest.raises(ValidationError, match="score"):
        decode_event(raw)
