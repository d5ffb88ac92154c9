"""The grader: one problem's submissions, one folder of hidden tests, instructor feedback out.

The command line (``peerclass grade``) and the browser (the instructor's "grade" form on a
problem page) both grade through :class:`Grader`, so a verdict, its score, the comment a
student reads and the line the instructor reads are the same whichever one ran.

Grading one submission has three steps, kept apart so async code can run each where it
belongs: :meth:`Grader.solution` reads the store, :meth:`Grader.run` runs the sandbox and
touches no store, :meth:`Grader.decide` reads the store again and says what to publish. The
caller publishes (``Store.append`` or ``AsyncStore.append``); :meth:`Grader.grade` does all
of it for blocking callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import attrs

from peer.errors import UsageError
from peer.identity import Membership, short_id
from peer.log import combined_score
from storage import Store
from storage.queries import (
    Problem,
    Submission,
    feedback_terms,
    get_submission,
    list_feedback,
    list_submissions,
    problem_terms,
)

from ._grade import grade_submission
from ._testdir import TestSuite

#: Which submissions a grading run takes: each student's latest attempt, every one without an
#: instructor verdict, or every one whose verdict came from other tests.
Choice = Literal["latest", "ungraded", "regrade"]
CHOICES: tuple[Choice, ...] = ("latest", "ungraded", "regrade")
#: The first line of a regraded verdict's comment (a regrade of a regrade drops the old one).
REGRADED = "regraded after the tests changed:"


@attrs.frozen
class Outcome:
    """What the hidden tests (or the problem's rules) say about one submission."""

    verdict: str
    score: int | None
    #: For the student: what the problem's hidden detail allows, never test data.
    comment: str
    #: For the instructor, one line: the reasons too.
    summary: str


@attrs.frozen
class Decision:
    """What grading one submission came to, before anything is published."""

    submission: Submission
    #: ``who: verdict, score, summary`` (or ``who: skipped, why``): what the instructor reads.
    line: str
    #: The feedback body to publish; None when there is nothing to publish (skipped, or the
    #: same verdict as the one already given).
    body: dict[str, Any] | None
    #: The feedback this one revises, if any.
    revises: bytes | None = None

    def told(self, published: bytes | None) -> str:
        """The line to show once the caller published (``published``: the new event's id)."""
        if self.body is None:
            return self.line
        assert published is not None
        revised = f", revising {short_id(self.revises)}" if self.revises is not None else ""
        return f"{self.line}; published feedback {short_id(published)}{revised}"


@attrs.frozen
class Grader:
    """Grades one problem's submissions with one suite of hidden tests, as ``me``."""

    me: Membership
    problem: Problem
    suite: TestSuite

    # ---- which submissions ---------------------------------------------------------------

    def submissions(self, store: Store) -> list[Submission]:
        """Students' submissions to this problem's thread, oldest first (never our own:
        staff trying a problem are not graded)."""
        found = list_submissions(store, problem_root=self.problem.root)
        return [s for s in found if s.author != self.me.peer_id]

    def choose(self, store: Store, choice: Choice) -> list[Submission]:
        """The submissions a run grades: the CLI's default, ``--all`` and ``--regrade``, and
        the browser's choice between them, pick with the same rule."""
        every = self.submissions(store)
        if choice == "latest":
            latest = latest_ids(every)
            return [s for s in every if s.id in latest]
        if choice == "ungraded":
            graded = {
                f.submission_id
                for f in list_feedback(store, self.me.klass.instructor)
                if f.role == "instructor"
            }
            return [s for s in every if s.id not in graded]
        return self._stale(store, every)

    def _stale(self, store: Store, every: list[Submission]) -> list[Submission]:
        """Each submission whose latest verdict of ours recorded another test folder's hash
        (or none): fixing a test must reach what the old test judged."""
        ours = {
            f.submission_id: f
            for f in list_feedback(store, self.me.klass.instructor)
            if f.reviewer == self.me.peer_id
        }
        terms = feedback_terms(store, [f.id for f in ours.values()])
        return [
            s
            for s in every
            if s.id in ours
            and (
                ours[s.id].id not in terms
                or terms[ours[s.id].id].tests_hash != self.suite.content_hash
            )
        ]

    # ---- grading one ---------------------------------------------------------------------

    def grade(self, store: Store, s: Submission, *, regrade: bool = False) -> str:
        """Grade ``s`` and publish the result, blocking; the line to print about it."""
        read = self.solution(store, s)
        if isinstance(read, Decision):
            return read.line
        try:
            outcome = self.run(s, *read)
        except UsageError as exc:
            return self.cannot_run(s, exc).line
        decision = self.decide(store, s, outcome, regrade=regrade)
        if decision.body is None:
            return decision.told(None)
        event = store.append(self.me.signing_key, "feedback", decision.body)
        return decision.told(event.id)

    def solution(self, store: Store, s: Submission) -> tuple[str, str] | Decision:
        """(language, source) of ``s``, or the skip this peer must report: sealed work it
        cannot open is not a failure of the student's."""
        detail = get_submission(store, s.id)
        if detail is None or detail.solution is None or s.language is None:
            return Decision(s, f"{_who(s)}: skipped, this peer cannot read it", None)
        return s.language, detail.solution

    def cannot_run(self, s: Submission, exc: UsageError) -> Decision:
        """The skip for a submission this computer cannot run (no C compiler, say): the
        student is not told anything, so a fixed computer grades it later."""
        return Decision(s, f"{_who(s)}: skipped, {exc}", None)

    def run(self, s: Submission, language: str, source: str) -> Outcome:
        """The verdict on ``source``: the problem's rules first (language, lateness, graded
        attempts), then the hidden tests in the sandbox. Blocking and slow (seconds per
        test); reads no store, so async callers run it in a thread of its own. Raises
        UsageError when this computer cannot run the language."""
        accepted = self.problem.languages
        if language not in accepted:
            why = f"not graded: this problem accepts {', '.join(accepted)}, not {language}"
            return Outcome("revise", 0, why, why)
        if s.late and self.problem.late_policy == "refuse-grade":
            why = "not graded: submitted after the due date, and late work is not graded"
            return Outcome("revise", None, why, why)
        limit = self.problem.graded_attempts
        if limit is not None and s.attempt > limit:
            why = (
                f"not graded: this problem grades each student's first {limit} attempt(s), "
                f"and this is attempt {s.attempt}"
            )
            return Outcome("revise", None, why, why)
        result = grade_submission(
            language, source, self.suite, hidden_detail=self.problem.hidden_detail
        )
        late = "\n(submitted after the due date)" if s.late else ""
        if result.failed:  # the instructor's view: reasons, whatever the student sees
            summary = "failed " + ", ".join(f"{name} ({why})" for name, why in result.failed)
        elif result.passed:
            summary = f"passed all {len(result.passed)} tests"
        else:
            summary = result.comment.splitlines()[0]  # did not compile
        return Outcome(result.verdict, result.score, result.comment + late, summary)

    def decide(
        self, store: Store, s: Submission, outcome: Outcome, *, regrade: bool = False
    ) -> Decision:
        """The feedback to publish for ``outcome`` (a revision of our earlier one, if any),
        or none when it would repeat that one: grading twice must not add noise.

        The body records the test folder's hash and the tests' score (issue 20); on a
        problem with a rubric the score combines them with the rubric points already given.
        """
        shown = "" if outcome.score is None else f", score {outcome.score}"
        late = " (late)" if s.late else ""
        line = f"{_who(s)}{late}: {outcome.verdict}{shown}, {outcome.summary}"
        body: dict[str, Any] = {
            "submission": s.id,
            "verdict": outcome.verdict,
            "comment": outcome.comment,
        }
        score = outcome.score
        if outcome.score is not None:
            score, points = graded_score(store, self.me, self.problem.root, s.id, outcome.score)
            body |= {"score": score, "tests_score": outcome.score}
            if points:
                body["rubric"] = points
        if self.suite.content_hash:
            body["tests"] = self.suite.content_hash
        mine = [
            f
            for f in list_feedback(store, self.me.klass.instructor, submission=s.id)
            if f.reviewer == self.me.peer_id
        ]
        if not mine:
            return Decision(s, line, body)
        earlier = max(mine, key=lambda f: (f.ts, f.seq))
        old_comment = earlier.comment or ""
        if old_comment.startswith(REGRADED):
            old_comment = old_comment.partition("\n")[2]
        if (earlier.verdict, earlier.score, old_comment) == (
            outcome.verdict,
            score,
            outcome.comment,
        ):
            return Decision(s, f"{line}; unchanged since it was last graded", None)
        if regrade:
            body["comment"] = f"{regraded_line(earlier.score, score)}\n{outcome.comment}"
        body["supersedes"] = earlier.id
        return Decision(s, line, body, earlier.id)


def _who(s: Submission) -> str:
    return f"{s.author_name or '?'} ({short_id(s.author)}) attempt {s.attempt}"


def latest_ids(submissions: Iterable[Submission]) -> set[bytes]:
    """Each author's latest attempt at each problem thread: what a student would want
    graded (and the queue marks the others superseded)."""
    latest: dict[tuple[bytes, bytes], Submission] = {}
    for s in submissions:
        key = (s.author, s.problem_root)
        if key not in latest or s.attempt > latest[key].attempt:
            latest[key] = s
    return {s.id for s in latest.values()}


def regraded_line(old: int | None, new: int | None) -> str:
    """What a student reads first on a regraded verdict: the old and the new score, so a
    changed grade never arrives unexplained."""
    before, after = ("none" if v is None else str(v) for v in (old, new))
    return f"{REGRADED} score {before} -> {after}"


def latest_rubric(store: Store, me: Membership, submission_id: bytes) -> dict[str, int]:
    """The rubric points the latest instructor-weight feedback on the submission gave: a
    grade or a regrade keeps them, whoever gave them, so hand marking is never lost."""
    staff = [
        f
        for f in list_feedback(store, me.klass.instructor, submission=submission_id)
        if f.role == "instructor"
    ]
    terms = feedback_terms(store, [f.id for f in staff])
    given = [f for f in staff if f.id in terms and terms[f.id].rubric]
    if not given:
        return {}
    return terms[max(given, key=lambda f: (f.ts, f.id)).id].rubric


def graded_score(
    store: Store, me: Membership, problem_root: bytes, submission_id: bytes, tests_score: int
) -> tuple[int, dict[str, int]]:
    """The score a grade publishes: the tests' score, combined with the rubric points
    already given when the problem has a rubric (so tests and hand marking add up the way
    the rubric says); and those points."""
    rubric = problem_terms(store)[problem_root].rubric
    if rubric is None:
        return tests_score, {}
    points = latest_rubric(store, me, submission_id)
    return combined_score(rubric, tests_score, points), points
