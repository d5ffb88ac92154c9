"""The report's computations on a class built by hand; also the sample other report tests use.

The sample: an instructor, four students (one whose name is markup), three problems (one with
a comma and quotes in its title), revised feedback, attempts nobody reviewed, a comment that
tries to inject a script, and Markdown comments.
"""

from __future__ import annotations

import hashlib
import random
from typing import TypeVar

import attrs

from peer.log import hlc
from peer.report import (
    FeedbackVersion,
    Problem,
    Report,
    Request,
    Snapshot,
    Submission,
    build_report,
)
from peer.report.model import Role
from peer.report.summary import decide

T = TypeVar("T")


def ident(name: str) -> bytes:
    return hashlib.blake2b(name.encode(), digest_size=32).digest()


T0_MS = 1_741_000_000_000  # 2025-03-03 11:06:40 UTC
MINUTE = 60_000

TEACHER, ALICE, BOB, CAROL, DAVE = (ident(n) for n in ("teacher", "alice", "bob", "carol", "dave"))
NAMES = {
    TEACHER: "Ms Teacher",
    ALICE: "Alice",
    BOB: "Bob",
    CAROL: "Carol",
    DAVE: "Dave <img src=x onerror=alert(1)>",
}
TWO_SUM, FIZZ, PALI = ident("two-sum"), ident("fizzbuzz"), ident("palindromes")
PROBLEMS = (
    Problem(TWO_SUM, "Two Sum", official=True),
    Problem(FIZZ, "FizzBuzz", official=True),
    Problem(PALI, 'Palindromes, "the easy ones"', official=False),
)
SCRIPT_COMMENT = (
    "**Great** work! <script>alert(1)</script>\n\n"
    "- uses a `dict`\n- linear time\n\n"
    "[ask me](mailto:teacher@school.test) or [not this](javascript:alert(1))"
)
CSV_COMMENT = 'Use a dict, "seen"\nthen loop once.'


def ts(minutes: int) -> int:
    return hlc.from_ms(T0_MS + minutes * MINUTE)


def sub(
    name: str, student: bytes, problem: bytes, attempt: int, at: int, passed: int = 2
) -> Submission:
    return Submission(ident(name), student, problem, attempt, ts(at), "python", passed, 3)


def fb(
    name: str,
    on: str,
    reviewer: bytes,
    verdict: str,
    score: int | None,
    at: int,
    comment: str = "ok",
    revision_of: str | None = None,
) -> FeedbackVersion:
    role: Role = "instructor" if reviewer == TEACHER else "peer"
    return FeedbackVersion(
        ident(name),
        ident(on),
        reviewer,
        role,
        verdict,
        score,
        comment,
        ts(at),
        None if revision_of is None else ident(revision_of),
    )


SUBMISSIONS = (
    sub("a-ts-1", ALICE, TWO_SUM, 1, 0, passed=1),
    sub("a-ts-2", ALICE, TWO_SUM, 2, 120, passed=3),
    sub("a-fz-1", ALICE, FIZZ, 1, 200),
    sub("b-ts-1", BOB, TWO_SUM, 1, 10),
    sub("b-pa-1", BOB, PALI, 1, 300),
    sub("c-ts-1", CAROL, TWO_SUM, 1, 20),
    sub("c-fz-1", CAROL, FIZZ, 1, 30, passed=0),
    sub("c-fz-2", CAROL, FIZZ, 2, 90),
    sub("c-fz-3", CAROL, FIZZ, 3, 150, passed=3),
)
FEEDBACK = (
    fb("bob-on-a1", "a-ts-1", BOB, "revise", 50, 30, "Off by one."),
    fb("bob-on-a1-v2", "a-ts-1", BOB, "revise", 55, 40, CSV_COMMENT, revision_of="bob-on-a1"),
    fb("t-on-a1", "a-ts-1", TEACHER, "revise", 60, 60, "Close. *Check the empty list.*"),
    fb("t-on-a2", "a-ts-2", TEACHER, "accept", 90, 180, SCRIPT_COMMENT),
    fb("carol-on-a2", "a-ts-2", CAROL, "accept", 85, 200),
    fb("alice-on-b1", "b-ts-1", ALICE, "accept", 80, 70),
    fb("carol-on-b1", "b-ts-1", CAROL, "revise", 40, 75),
    fb("dave-on-b1", "b-ts-1", DAVE, "accept", 70, 80),
    fb("alice-on-c1", "c-fz-1", ALICE, "revise", None, 45),
    fb("alice-on-c3", "c-fz-3", ALICE, "accept", 75, 160, "## Nice\n\n```py\nprint(1 < 2)\n```"),
)


def sample_snapshot() -> Snapshot:
    return Snapshot(
        names=NAMES,
        students=(ALICE, BOB, CAROL, DAVE),
        problems=PROBLEMS,
        submissions=SUBMISSIONS,
        feedback=FEEDBACK,
    )


def class_request() -> Request:
    return Request(viewer_id=TEACHER, viewer_role="instructor", scope="class")


def sample_report(request: Request | None = None) -> Report:
    return build_report(sample_snapshot(), request or class_request())


def shuffled(snapshot: Snapshot, seed: int) -> Snapshot:
    """The same facts in another order, as another peer's store could list them."""
    rng = random.Random(seed)

    def mix(items: tuple[T, ...]) -> tuple[T, ...]:
        return tuple(rng.sample(items, len(items)))

    names = dict(rng.sample(list(snapshot.names.items()), len(snapshot.names)))
    return attrs.evolve(
        snapshot,
        names=names,
        students=mix(snapshot.students),
        problems=mix(snapshot.problems),
        submissions=mix(snapshot.submissions),
        feedback=mix(snapshot.feedback),
    )


# ---- tests ------------------------------------------------------------------------------


def statuses(report: Report) -> dict[tuple[str, str], tuple[str, int | None]]:
    return {
        (s.student.label, h.problem.title): (h.status, h.attempts_until_accepted)
        for s in report.students
        for h in s.problems
    }


def test_acceptance_rule_per_student_and_problem() -> None:
    assert statuses(sample_report()) == {
        # the latest instructor verdict decides, on the attempt it reviewed
        ("Alice", "Two Sum"): ("accepted", 2),
        ("Alice", "FizzBuzz"): ("pending", None),
        # two of three peers' latest verdicts accept: a majority
        ("Bob", "Two Sum"): ("accepted", 1),
        ("Bob", 'Palindromes, "the easy ones"'): ("pending", None),
        ("Carol", "Two Sum"): ("pending", None),
        # one peer: revise on attempt 1, then accept on attempt 3
        ("Carol", "FizzBuzz"): ("accepted", 3),
    }


def test_latest_instructor_verdict_overrides_peers_and_revisions_count() -> None:
    accept = fb("t-accept", "c-ts-1", TEACHER, "accept", 90, 30)
    revised = fb("t-revise", "c-ts-1", TEACHER, "revise", 70, 40, revision_of="t-accept")
    peers = [fb(f"p{i}", "c-ts-1", r, "accept", 99, 50) for i, r in enumerate((ALICE, BOB))]
    snapshot = attrs.evolve(sample_snapshot(), feedback=(accept, revised, *peers))
    history = build_report(snapshot, class_request()).students[2].problems[1]
    assert (history.problem.title, history.status) == ("Two Sum", "revise")
    assert [v.verdict for v in history.attempts[0].feedback[0].versions] == ["accept", "revise"]


def test_peer_tie_is_not_a_majority() -> None:
    two = [fb("x", "c-ts-1", ALICE, "accept", 80, 30), fb("y", "c-ts-1", BOB, "revise", 40, 31)]
    snapshot = attrs.evolve(sample_snapshot(), feedback=tuple(two))
    carol = build_report(snapshot, class_request()).students[2]
    assert decide(carol.problems[1].attempts) == ("revise", None)
    assert decide(()) == ("not_attempted", None)


def test_revised_feedback_is_one_thread_with_its_earlier_versions() -> None:
    alice = sample_report().students[0]
    first_attempt = alice.problems[1].attempts[0]  # Two Sum, attempt 1
    bob = first_attempt.feedback[0]
    assert [v.id for v in bob.versions] == [ident("bob-on-a1"), ident("bob-on-a1-v2")]
    assert bob.current.revision_of == ident("bob-on-a1")
    assert bob.current.comment == CSV_COMMENT
    assert [t.current.reviewer.label for t in first_attempt.feedback] == ["Bob", "Ms Teacher"]


def test_student_summary() -> None:
    alice = sample_report().students[0]
    summary = alice.summary
    assert summary.problems_attempted == 2
    assert summary.problems_accepted == 1
    # current versions only: Bob's 55 (not 50) and Carol's 85
    assert summary.mean_peer_score == 70.0
    assert summary.mean_instructor_score == 75.0
    # delays 30 (Bob's first version), 60, 60, 80 minutes: median 60
    assert summary.median_feedback_delay_ms == 60 * MINUTE
    assert (summary.feedback_received, summary.feedback_given) == (4, 3)


def test_order_is_by_name_title_and_attempt() -> None:
    report = sample_report()
    assert [s.student.label for s in report.students] == [
        "Alice",
        "Bob",
        "Carol",
        "Dave <img src=x onerror=alert(1)>",
    ]
    assert [p.problem.title for p in report.problems] == [
        "FizzBuzz",
        'Palindromes, "the easy ones"',
        "Two Sum",
    ]
    carol = report.students[2]
    assert [a.number for a in carol.problems[0].attempts] == [1, 2, 3]


def test_feedback_given_to_others() -> None:
    alice = sample_report().students[0]
    given = [
        (g.to.label, g.problem.title, g.attempt, g.thread.current.verdict) for g in alice.given
    ]
    assert given == [
        ("Bob", "Two Sum", 1, "accept"),
        ("Carol", "FizzBuzz", 1, "revise"),
        ("Carol", "FizzBuzz", 3, "accept"),
    ]


def test_problem_stats_across_the_class() -> None:
    stats = {
        p.problem.title: (p.attempted, p.accepted, p.median_attempts)
        for p in sample_report().problems
    }
    assert stats == {
        "FizzBuzz": (2, 1, 2.0),  # Alice 1 attempt, Carol 3
        'Palindromes, "the easy ones"': (1, 0, 1.0),
        "Two Sum": (3, 2, 1.0),  # Alice 2, Bob 1, Carol 1
    }


def test_default_scope_is_one_student() -> None:
    own = sample_report(Request(viewer_id=BOB, viewer_role="student", scope="student"))
    assert [s.student.label for s in own.students] == ["Bob"]
    chosen = sample_report(
        Request(viewer_id=TEACHER, viewer_role="instructor", scope="student", student_id=CAROL)
    )
    assert [s.student.label for s in chosen.students] == ["Carol"]
    # a student's report lists official problems even when not attempted, and its own
    assert [p.problem.title for p in own.problems] == [
        "FizzBuzz",
        'Palindromes, "the easy ones"',
        "Two Sum",
    ]


def test_problem_and_since_filters() -> None:
    request = attrs.evolve(class_request(), problem_id=FIZZ, since=ts(60))
    report = sample_report(request)
    assert [p.problem.title for p in report.problems] == ["FizzBuzz"]
    attempts = {
        s.student.label: [a.number for h in s.problems for a in h.attempts] for s in report.students
    }
    assert attempts == {
        "Alice": [1],
        "Bob": [],
        "Carol": [2, 3],
        "Dave <img src=x onerror=alert(1)>": [],
    }
    # Alice's review of Carol's first attempt predates --since; her review of attempt 3 does not
    assert [g.attempt for g in report.students[0].given] == [3]


def test_submission_of_a_problem_not_yet_arrived_still_shows() -> None:
    snapshot = attrs.evolve(sample_snapshot(), problems=PROBLEMS[1:])
    titles = [p.problem.title for p in build_report(snapshot, class_request()).problems]
    assert f"unknown problem {TWO_SUM.hex()[:8]}" in titles


def test_same_facts_in_any_order_give_the_same_report() -> None:
    expected = sample_report()
    for seed in range(5):
        assert build_report(shuffled(sample_snapshot(), seed), class_request()) == expected
