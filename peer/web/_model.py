"""What each page shows, gathered from ``storage.queries`` and ``Store`` reads only.

Every function here blocks (SQLite): the app calls them in a worker thread. They return frozen
values that templates render; nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from peer.i18n import Translator
from peer.identity import Membership
from peer.log import hlc
from storage import Store
from storage.queries import (
    Feedback,
    Problem,
    Progress,
    RosterEntry,
    Submission,
    SubmissionDetail,
    get_submission,
    has_submitted,
    list_feedback,
    list_problems,
    list_submissions,
    newest_revision,
    progress,
    review_queue,
    roster_entries,
    students,
)

DAY_MS = 86_400_000
#: How the autograder's comment starts (``peer.grading``): a thread shows that revision's
#: test breakdown beside any later note by the instructor, never hidden by it.
GRADER_COMMENT = re.compile(
    r"^(all \d+ tests passed|passed \d+ of \d+ tests|not every hidden test passed|not graded:)"
)


def ms_of(ts: int) -> int:
    return hlc.to_ms(ts)


# ---- problems ---------------------------------------------------------------------------------


@attrs.frozen
class ProblemRow:
    problem: Problem
    my_attempts: int
    status: str  # "accepted", "revise", "pending", "not attempted"


@attrs.frozen
class Attempt:
    detail: SubmissionDetail
    threads: tuple[Thread, ...]


@attrs.frozen
class Thread:
    """One reviewer's feedback on one submission: the newest revision and the ones before,
    and the newest revision that is the autograder's test breakdown (if any)."""

    newest: Feedback
    earlier: tuple[Feedback, ...]
    graded: Feedback | None = None


@attrs.frozen
class ProblemView:
    problem: Problem
    attempts: tuple[Attempt, ...]  # newest first
    revisions: int


def status_of(p: Progress) -> str:
    if p.accepted:
        return "accepted"
    if p.latest is None:
        return "not attempted"
    if any(f.verdict == "revise" for f in p.verdicts):
        return "revise"
    return "pending"


def problem_rows(store: Store, me: Membership) -> list[ProblemRow]:
    mine = {p.problem.root: p for p in progress(store, me.klass.instructor, [me.peer_id])}
    return [
        ProblemRow(p, mine[p.root].attempts if p.root in mine else 0, _status(mine.get(p.root)))
        for p in list_problems(store, me.klass.instructor)
    ]


def _status(p: Progress | None) -> str:
    return "not attempted" if p is None else status_of(p)


def threads(store: Store, me: Membership, submission: bytes) -> tuple[Thread, ...]:
    every = list_feedback(store, me.klass.instructor, submission=submission, every_version=True)
    by_root: dict[bytes, list[Feedback]] = {}
    for f in every:
        by_root.setdefault(f.root, []).append(f)
    result = []
    for versions in by_root.values():
        versions.sort(key=lambda f: f.seq)
        graded = next(
            (f for f in reversed(versions) if f.comment and GRADER_COMMENT.match(f.comment)), None
        )
        result.append(Thread(versions[-1], tuple(reversed(versions[:-1])), graded))
    return tuple(sorted(result, key=lambda t: (t.newest.role != "instructor", t.newest.ts)))


def problem_view(store: Store, me: Membership, problem_id: bytes) -> ProblemView | None:
    problem = newest_revision(store, problem_id, me.klass.instructor)
    if problem is None:
        return None
    attempts = []
    for s in reversed(list_submissions(store, problem_root=problem.root, author=me.peer_id)):
        detail = get_submission(store, s.id)
        if detail is not None:
            attempts.append(Attempt(detail, threads(store, me, s.id)))
    revisions = sum(1 for p in list_problems(store, me.klass.instructor) if p.root == problem.root)
    return ProblemView(problem, tuple(attempts), revisions)


# ---- feedback -----------------------------------------------------------------------------------


@attrs.frozen
class QueueItem:
    submission: Submission
    reviewed_by_me: bool
    feedback_count: int


@attrs.frozen
class FeedbackView:
    mine: tuple[Attempt, ...]  # newest first
    to_review: tuple[QueueItem, ...]


def feedback_view(store: Store, me: Membership) -> FeedbackView:
    mine = []
    for s in reversed(list_submissions(store, author=me.peer_id)):
        detail = get_submission(store, s.id)
        if detail is not None:
            mine.append(Attempt(detail, threads(store, me, s.id)))
    every_feedback = list_feedback(store, me.klass.instructor)
    queue = []
    for s in reversed(list_submissions(store)):
        if s.author == me.peer_id or not may_review(store, me, s):
            continue
        on_it = [f for f in every_feedback if f.submission_id == s.id]
        queue.append(QueueItem(s, any(f.reviewer == me.peer_id for f in on_it), len(on_it)))
    return FeedbackView(tuple(mine), tuple(queue))


def may_review(store: Store, me: Membership, s: Submission) -> bool:
    """The instructor reviews everything; a student reviews a classmate's submission to a
    problem they have submitted to themselves (the peer-review rule of DESIGN section 7).

    Seam for the privacy work: when problems carry a ``review: peers`` flag in the queries,
    require it here too (today a readable submission to a problem one has submitted to).
    """
    if me.is_instructor:
        return True
    # A sealed submission not shared with this student cannot be read, so not reviewed.
    return s.readable and has_submitted(store, me.peer_id, s.problem_id)


@attrs.frozen
class SubmissionView:
    detail: SubmissionDetail
    threads: tuple[Thread, ...]
    mine: Feedback | None  # my current feedback on it, to revise
    may_review: bool
    problem: Problem | None


def submission_view(store: Store, me: Membership, submission_id: bytes) -> SubmissionView | None:
    detail = get_submission(store, submission_id)
    if detail is None:
        return None
    found = threads(store, me, submission_id)
    mine = next((t.newest for t in found if t.newest.reviewer == me.peer_id), None)
    s = detail.submission
    allowed = s.author != me.peer_id and may_review(store, me, s)
    problem = newest_revision(store, s.problem_id, me.klass.instructor)
    return SubmissionView(detail, found, mine, allowed, problem)


# ---- instructor ---------------------------------------------------------------------------------


@attrs.frozen
class Cell:
    status: str
    attempts: int
    late: bool
    latest: Submission | None


@attrs.frozen
class ProgressRow:
    student: bytes
    name: str
    cells: tuple[Cell, ...]


@attrs.frozen
class InstructorView:
    problems: tuple[Problem, ...]
    rows: tuple[ProgressRow, ...]
    waiting: tuple[Submission, ...]  # newest first
    roster: tuple[RosterEntry, ...]  # members, pending, removed


def instructor_view(store: Store, me: Membership) -> InstructorView:
    instructor = me.klass.instructor
    problems = list_problems(store, instructor)
    people = students(store, instructor)
    names = store.names()
    table = progress(store, instructor, people)
    per_student: dict[bytes, list[Cell]] = {}
    for p in table:
        per_student.setdefault(p.student, []).append(
            Cell(status_of(p), p.attempts, p.latest is not None and p.latest.late, p.latest)
        )
    rows = tuple(
        ProgressRow(s, names.get(s) or s.hex()[:8], tuple(per_student.get(s, []))) for s in people
    )
    return InstructorView(
        tuple(problems),
        rows,
        tuple(waiting_for_verdict(store, me)),
        tuple(roster_entries(store, instructor)),
    )


def waiting_for_verdict(store: Store, me: Membership) -> list[Submission]:
    """Submissions to official problems with no instructor verdict yet, newest first (the
    queue ``peerclass queue`` lists)."""
    return list(reversed(review_queue(store, me.klass.instructor)))


def standing(store: Store, me: Membership) -> str | None:
    """'pending' or 'removed' when this student is not (or no longer) a member: shown on every
    page, since their work does not count until the instructor admits them."""
    if me.is_instructor:
        return None
    for entry in roster_entries(store, me.klass.instructor):
        if entry.peer_id == me.peer_id:
            return None if entry.state == "member" else entry.state
    return None


def due_text(due_ms: int | None, now_ms: int, t: Translator | None = None) -> str:
    """'due in 2 days', 'due in 3 hours', 'overdue by 1 day' in the page's language (the
    page shows the date itself beside it)."""
    if due_ms is None:
        return ""
    delta = due_ms - now_ms
    span = abs(delta)
    if span >= DAY_MS:
        n, unit = span // DAY_MS, "day"
    elif span >= 3_600_000:
        n, unit = span // 3_600_000, "hour"
    else:
        n, unit = max(1, span // 60_000), "minute"
    if t is None:
        amount = f"{n} {unit}{'' if n == 1 else 's'}"
        return f"due in {amount}" if delta >= 0 else f"overdue by {amount}"
    return t(_DUE[(delta >= 0, unit, n == 1)], n=n)


def N_(message: str) -> str:
    return message


_DUE = {
    (True, "day", True): N_("due in {n} day"),
    (True, "day", False): N_("due in {n} days"),
    (True, "hour", True): N_("due in {n} hour"),
    (True, "hour", False): N_("due in {n} hours"),
    (True, "minute", True): N_("due in {n} minute"),
    (True, "minute", False): N_("due in {n} minutes"),
    (False, "day", True): N_("overdue by {n} day"),
    (False, "day", False): N_("overdue by {n} days"),
    (False, "hour", True): N_("overdue by {n} hour"),
    (False, "hour", False): N_("overdue by {n} hours"),
    (False, "minute", True): N_("overdue by {n} minute"),
    (False, "minute", False): N_("overdue by {n} minutes"),
}


def submissions_of(items: Sequence[Attempt]) -> list[Submission]:
    return [a.detail.submission for a in items]
