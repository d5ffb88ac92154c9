"""The acceptance rule shared by ``progress`` and the report."""

from __future__ import annotations

from storage.queries._acceptance import Verdict, accepted_attempt

TEACHER, ANN, BEN, CAT = b"T" * 32, b"A" * 32, b"B" * 32, b"C" * 32


def v(reviewer: bytes, verdict: str, ts: int, attempt: int = 1) -> Verdict:
    role = "instructor" if reviewer == TEACHER else "peer"
    return Verdict(reviewer, role, verdict, ts, bytes([ts]) * 32, attempt)


def test_no_verdicts_is_not_accepted() -> None:
    assert accepted_attempt([]) is None


def test_the_latest_instructor_verdict_decides_over_peers() -> None:
    assert accepted_attempt([v(TEACHER, "revise", 1), v(TEACHER, "accept", 2, 2)]) == 2
    assert accepted_attempt([v(TEACHER, "accept", 1), v(TEACHER, "revise", 2, 2)]) is None
    peers_accept = [v(ANN, "accept", 3), v(BEN, "accept", 4)]
    assert accepted_attempt([v(TEACHER, "revise", 1), *peers_accept]) is None


def test_without_the_instructor_a_strict_majority_of_peers_accepts() -> None:
    assert accepted_attempt([v(ANN, "accept", 1), v(BEN, "accept", 2), v(CAT, "revise", 3)]) == 1
    assert accepted_attempt([v(ANN, "accept", 1), v(BEN, "revise", 2)]) is None  # a tie


def test_each_peer_counts_once_with_their_latest_verdict() -> None:
    changed_mind = [v(ANN, "accept", 1), v(BEN, "revise", 2), v(BEN, "accept", 3, 2)]
    assert accepted_attempt(changed_mind) == 2
    assert accepted_attempt([v(ANN, "accept", 1), v(ANN, "accept", 2), v(BEN, "revise", 3)]) is None


def test_the_order_verdicts_are_given_in_does_not_matter() -> None:
    verdicts = [v(ANN, "accept", 1), v(BEN, "revise", 2), v(BEN, "accept", 3), v(CAT, "revise", 4)]
    assert accepted_attempt(verdicts) == accepted_attempt(reversed(verdicts)) == 1
