"""The instructor's commands ``grade`` and ``queue``, and the student's dry run ``check``.

``grade`` runs students' solutions against hidden tests that never leave the instructor's
computer, always inside the grading engine's sandbox (it refuses to run anything without
one), and publishes the outcome as instructor feedback: verdict, score, and a comment naming
the failed tests only. ``--watch`` then keeps grading what arrives, as its own process beside
``peerclass run`` on the same data dir.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from peer.cli._curriculum import (
    latest_own_feedback,
    problem_thread,
    read_solution,
    submission_json,
    with_peer,
)
from peer.cli._output import local_time_ts, print_json, print_table
from peer.cli._rubric import graded_score
from peer.cli._selfcheck import add_solution_args, choose_language, run_self_check, self_check_lines
from peer.errors import UsageError
from peer.grading import TestSuite, grade_submission, load_test_folder, sandbox_available
from peer.identity import Membership, short_id
from peer.log import decode_event
from storage import Store
from storage.queries import (
    Problem,
    Submission,
    feedback_terms,
    get_submission,
    list_feedback,
    list_submissions,
    review_queue,
)

#: How often ``grade --watch`` looks for new submissions: one indexed ``max(local_id)`` read
#: of the local store, which costs microseconds (it never touches the network).
WATCH_INTERVAL = 0.5


def add_commands(sub: Any) -> None:
    """Register ``grade``, ``check`` and ``queue`` on the top-level parser."""
    grade = sub.add_parser(
        "grade", help="grade submissions against hidden tests in a sandbox (the instructor)"
    )
    grade.add_argument("problem", metavar="PROBLEM_ID")
    grade.add_argument(
        "--tests", type=Path, required=True, metavar="DIR", help="the folder of hidden tests"
    )
    grade.add_argument(
        "--all",
        action="store_true",
        help="every submission without an instructor verdict (default: each student's latest)",
    )
    grade.add_argument(
        "--watch", action="store_true", help="then grade new submissions as they arrive"
    )
    grade.add_argument(
        "--regrade",
        action="store_true",
        help="grade again every submission whose verdict came from other tests (say, after "
        "fixing a test), and say which verdicts changed",
    )
    grade.set_defaults(handler=with_peer(cmd_grade))
    check = sub.add_parser("check", help="self-check a solution on the examples; records nothing")
    add_solution_args(check)
    check.set_defaults(handler=with_peer(cmd_check))
    queue = sub.add_parser("queue", help="submissions waiting for an instructor verdict")
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=with_peer(cmd_queue))


# ---- check ------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, me: Membership, store: Store) -> int:
    """The self-check ``submit`` runs, and nothing else: exit 0 only when every example passed."""
    problem = problem_thread(store, args.problem, me.klass.instructor)
    solution = read_solution(args.file)
    language = choose_language(problem, args.language, args.file)
    check = run_self_check(problem, language, solution)
    for line in self_check_lines(problem, check):
        print(line)
    print("nothing was recorded ('peerclass submit' records an attempt)")
    return 0 if check.all_passed else 1


# ---- queue ------------------------------------------------------------------------------------


def cmd_queue(args: argparse.Namespace, me: Membership, store: Store) -> int:
    waiting = review_queue(store, me.klass.instructor)
    latest = _latest_ids(list_submissions(store))
    if args.json:
        print_json(
            [
                submission_json(s) | {"problem_title": s.problem_title, "latest": s.id in latest}
                for s in waiting
            ]
        )
    elif not waiting:
        print("nothing is waiting for an instructor verdict")
    else:
        print_table(
            ["ID", "PROBLEM", "AUTHOR", "ATTEMPT", "LANGUAGE", "SUBMITTED", "LATE"],
            [
                [
                    s.id.hex()[:8],
                    s.problem_title,
                    f"{s.author_name or '?'} ({short_id(s.author)})",
                    str(s.attempt) + ("" if s.id in latest else " (superseded)"),
                    s.language or "sealed",
                    local_time_ts(s.ts),
                    "late" if s.late else "-",
                ]
                for s in waiting
            ],
        )
    return 0


def _latest_ids(submissions: list[Submission]) -> set[bytes]:
    """Each author's latest attempt at each problem thread."""
    latest: dict[tuple[bytes, bytes], Submission] = {}
    for s in submissions:
        key = (s.author, s.problem_root)
        if key not in latest or s.attempt > latest[key].attempt:
            latest[key] = s
    return {s.id for s in latest.values()}


# ---- grade ------------------------------------------------------------------------------------


def cmd_grade(args: argparse.Namespace, me: Membership, store: Store) -> int:
    if not me.is_instructor:
        raise UsageError(
            "only the class's instructor grades (feedback from this peer would be a peer review)"
        )
    suite = load_test_folder(args.tests)
    problem = problem_thread(store, args.problem, me.klass.instructor)
    reason = sandbox_available()  # PEERCLASS_SANDBOX=off: as if there were none
    if reason is not None:
        raise UsageError(
            f"cannot grade: {reason}; hidden tests only ever run in the sandbox, so nothing ran"
        )
    grader = Grader(me, store, problem, suite)
    cursor = store.max_local_id()  # before choosing: --watch then misses nothing
    every = grader.submissions()
    if args.regrade:
        return _regrade(grader, every)
    if args.all:
        graded = {
            f.submission_id
            for f in list_feedback(store, me.klass.instructor)
            if f.role == "instructor"
        }
        chosen = [s for s in every if s.id not in graded]
    else:
        latest = _latest_ids(every)
        chosen = [s for s in every if s.id in latest]
    if not args.watch:
        for submission in chosen:
            print(grader.grade(submission), flush=True)
        print(f"graded {len(chosen)} submission(s) to {problem.title!r}")
        return 0
    with _stop_on_signals() as stop:
        for submission in chosen:
            if stop.requested:
                break
            print(grader.grade(submission), flush=True)
        _watch(grader, cursor, stop, {s.id for s in chosen})
    print("stopped watching", flush=True)
    return 0


def _regrade(grader: Grader, every: list[Submission]) -> int:
    """Grade again each submission whose latest instructor verdict (ours) recorded another
    test folder's hash (or none); say of each whether its verdict changed."""
    store, me = grader.store, grader.me
    ours = {
        f.submission_id: f
        for f in list_feedback(store, me.klass.instructor)
        if f.reviewer == me.peer_id
    }
    terms = feedback_terms(store, [f.id for f in ours.values()])
    stale = [
        s
        for s in every
        if s.id in ours
        and (
            ours[s.id].id not in terms
            or terms[ours[s.id].id].tests_hash != grader.suite.content_hash
        )
    ]
    changed = 0
    for submission in stale:
        line = grader.grade(submission, regrade=True)
        changed += "unchanged" not in line
        print(line, flush=True)
    print(
        f"regraded {len(stale)} submission(s) to {grader.problem.title!r} whose verdict came "
        f"from other tests; {changed} verdict(s) changed"
    )
    return 0


@attrs.define
class _Stop:
    requested: bool = False


@contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """Ctrl-C or SIGTERM ends ``--watch`` between two submissions, never halfway through
    publishing one."""
    stop = _Stop()

    def request(_signum: int, _frame: FrameType | None) -> None:
        stop.requested = True

    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch(grader: Grader, cursor: int, stop: _Stop, done: set[bytes]) -> None:
    """Grade each submission to the problem stored after ``cursor`` (and not in ``done``),
    as it arrives."""
    print(f"watching for new submissions to {grader.problem.title!r} (Ctrl-C stops)", flush=True)
    store = grader.store
    while not stop.requested:
        if store.max_local_id() <= cursor:
            time.sleep(WATCH_INTERVAL)
            continue
        refs = store.refs_after(cursor, 1000)
        cursor = refs[-1].local_id
        wanted = [r.local_id for r in refs if r.kind == "submission"]
        arrived = {decode_event(raw).id for raw in store.raws(wanted)} - done
        for submission in grader.submissions():
            if submission.id in arrived and not stop.requested:
                print(grader.grade(submission), flush=True)
                done.add(submission.id)


@attrs.frozen
class Grader:
    """Grades one problem's submissions with one suite of hidden tests, and publishes."""

    me: Membership
    store: Store
    problem: Problem
    suite: TestSuite

    def submissions(self) -> list[Submission]:
        """Students' submissions to this problem's thread, oldest first."""
        found = list_submissions(self.store, problem_root=self.problem.root)
        return [s for s in found if s.author != self.me.peer_id]

    def grade(self, s: Submission, *, regrade: bool = False) -> str:
        """Grade ``s`` and publish the result; the line to print about it."""
        who = f"{s.author_name or '?'} ({short_id(s.author)}) attempt {s.attempt}"
        detail = get_submission(self.store, s.id)
        if detail is None or detail.solution is None or s.language is None:
            return f"{who}: skipped, this peer cannot read it"
        try:
            outcome = self._outcome(s, s.language, detail.solution)
        except UsageError as exc:  # this computer cannot run it (no C compiler, say)
            return f"{who}: skipped, {exc}"
        late = " (late)" if s.late else ""
        published = self._publish(s, outcome, regrade=regrade)
        shown = "" if outcome.score is None else f", score {outcome.score}"
        return f"{who}{late}: {outcome.verdict}{shown}, {outcome.summary}{published}"

    def _outcome(self, s: Submission, language: str, solution: str) -> _Outcome:
        accepted = self.problem.languages
        if language not in accepted:
            why = f"not graded: this problem accepts {', '.join(accepted)}, not {language}"
            return _Outcome("revise", 0, why, why)
        if s.late and self.problem.late_policy == "refuse-grade":
            why = "not graded: submitted after the due date, and late work is not graded"
            return _Outcome("revise", None, why, why)
        limit = self.problem.graded_attempts
        if limit is not None and s.attempt > limit:
            why = (
                f"not graded: this problem grades each student's first {limit} attempt(s), "
                f"and this is attempt {s.attempt}"
            )
            return _Outcome("revise", None, why, why)
        result = grade_submission(
            language, solution, self.suite, hidden_detail=self.problem.hidden_detail
        )
        late = "\n(submitted after the due date)" if s.late else ""
        if result.failed:  # the instructor's terminal: reasons, whatever the student sees
            summary = "failed " + ", ".join(f"{name} ({why})" for name, why in result.failed)
        elif result.passed:
            summary = f"passed all {len(result.passed)} tests"
        else:
            summary = result.comment.splitlines()[0]  # did not compile
        return _Outcome(result.verdict, result.score, result.comment + late, summary)

    def _publish(self, s: Submission, outcome: _Outcome, *, regrade: bool = False) -> str:
        """Publish the feedback (a revision of our earlier one, if any); what was done.

        The body records the test folder's hash and the tests' score (issue 20); on a
        problem with a rubric the score combines them with the rubric points already given.
        """
        earlier_id = latest_own_feedback(self.store, self.me, s.id)
        body: dict[str, Any] = {
            "submission": s.id,
            "verdict": outcome.verdict,
            "comment": outcome.comment,
        }
        score = outcome.score
        if outcome.score is not None:
            score, points = graded_score(
                self.store, self.me, self.problem.root, s.id, outcome.score
            )
            body |= {"score": score, "tests_score": outcome.score}
            if points:
                body["rubric"] = points
        if self.suite.content_hash:
            body["tests"] = self.suite.content_hash
        if earlier_id is not None:
            earlier = next(
                f
                for f in list_feedback(self.store, self.me.klass.instructor, submission=s.id)
                if f.id == earlier_id
            )
            old_comment = earlier.comment or ""
            if old_comment.startswith(REGRADED):
                old_comment = old_comment.partition("\n")[2]
            same = (earlier.verdict, earlier.score, old_comment)
            if same == (outcome.verdict, score, outcome.comment):
                return "; unchanged since it was last graded"
            if regrade:
                body["comment"] = f"{_regraded_line(earlier.score, score)}\n{outcome.comment}"
            body["supersedes"] = earlier_id
        event = self.store.append(self.me.signing_key, "feedback", body)
        revised = f", revising {short_id(earlier_id)}" if earlier_id is not None else ""
        return f"; published feedback {short_id(event.id)}{revised}"


REGRADED = "regraded after the tests changed:"


def _regraded_line(old: int | None, new: int | None) -> str:
    """What a student reads first on a regraded verdict: the old and the new score."""
    before, after = ("none" if v is None else str(v) for v in (old, new))
    return f"{REGRADED} score {before} -> {after}"


@attrs.frozen
class _Outcome:
    verdict: str
    score: int | None
    comment: str  # for the student: what the problem's hidden detail allows, never test data
    summary: str  # for the instructor's terminal, one line
