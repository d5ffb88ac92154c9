"""Queries over the curriculum projections (problems, submissions, feedback).

At receipt a projector refuses only what the event and its author's own earlier events decide
(an attempt number out of sequence, a revision of something that is not the author's own, a
review of one's own submission): every peer holds those, so every peer refuses the same
events. Links to other authors' events are never checked at receipt. Queries join them, so
an event that arrived before what it refers to simply shows up once that arrives, and every
peer with the same heads gives the same answers in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
from sqlalchemy import Select, exists, or_, select

from peer.log import (
    DEFAULT_HIDDEN_DETAIL,
    DEFAULT_LANGUAGES,
    DEFAULT_LATE_POLICY,
    DEFAULT_SKEW_MS,
    Example,
    days_late,
    is_late,
)
from peer.log.hlc import to_ms
from storage._names import ClassNames
from storage.projections import STAFF_ROLES, Roster, count_attempts, load_roster
from storage.queries._acceptance import Verdict, accepted_attempt
from storage.queries._paging import EVERYTHING, Paging, key_of, newest, paged
from storage.queries._persons import Persons, load_persons, persons
from storage.queries._review import load_readers
from storage.queries._term import extended_dues
from storage.queries._witness import Attestor, attestor
from storage.schema import feedback, problems, submissions

if TYPE_CHECKING:
    from storage._store import Store

# ---- query results ----------------------------------------------------------------------


@attrs.frozen
class Problem:
    """One revision of a problem; ``root`` names its thread (the first revision)."""

    id: bytes
    root: bytes
    revision_of: bytes | None
    author: bytes
    author_name: str | None
    official: bool
    title: str
    statement: str
    examples: tuple[Example, ...]
    tags: tuple[str, ...]
    due: int | None  # milliseconds since the epoch
    ts: int
    seq: int
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    late_policy: str = DEFAULT_LATE_POLICY
    #: What a student sees of a failed hidden test (``peer.grading.student_view``).
    hidden_detail: str = DEFAULT_HIDDEN_DETAIL
    #: How many attempts per student ``grade`` grades; None: every one.
    graded_attempts: int | None = None


@attrs.frozen
class Check:
    passed: bool
    detail: str


@attrs.frozen
class Submission:
    id: bytes
    problem_id: bytes
    problem_root: bytes
    problem_title: str
    author: bytes
    author_name: str | None
    attempt: int
    ts: int
    seq: int
    #: The sealed part: None where this identity cannot read it (``readable`` False).
    language: str | None
    checks_passed: int | None
    checks_total: int | None
    #: Stamped after the due date of its problem's newest revision, by its author's clock
    #: (``peer.log.is_late``: the HLC's allowed skew is granted, a policy of ``accept`` never
    #: marks).
    late: bool = False
    #: Started days after the student's due date (issue 20: the late penalty's days).
    days_late: int = 0
    #: When a witness first held it (ms; issue 18, ``storage.queries._witness``): what
    #: decides ``late`` once a witness has passed the due time; None until one holds it.
    attested: int | None = None
    #: The clock skew the class grants (ms): claimed and attested times further apart than
    #: this are both shown.
    skew_ms: int = DEFAULT_SKEW_MS
    #: Whether this identity can read the sealed part (issue 10); ``invalid`` if what it
    #: opened broke the schema (shown as invalid, never as content).
    readable: bool = True
    invalid: bool = False

    @property
    def attested_apart(self) -> int | None:
        """The attested time where it differs from the claimed one by more than the skew
        (so lists show both), else None."""
        if self.attested is None or abs(self.attested - to_ms(self.ts)) <= self.skew_ms:
            return None
        return self.attested


@attrs.frozen
class SubmissionDetail:
    submission: Submission
    solution: str | None  # None where this identity cannot read it
    checks: tuple[Check, ...]


Role = Literal["instructor", "peer"]


@attrs.frozen
class Feedback:
    """The newest revision of one reviewer's feedback on one submission."""

    id: bytes
    root: bytes
    revision_of: bytes | None
    submission_id: bytes
    submission_author: bytes
    problem_id: bytes
    problem_root: bytes
    reviewer: bytes
    reviewer_name: str | None
    role: Role  # from the reviewer's key, never claimed
    verdict: str | None  # the sealed part: None where this identity cannot read it
    score: int | None
    comment: str | None
    ts: int
    seq: int
    readable: bool = True
    invalid: bool = False


@attrs.frozen
class Progress:
    """One student's standing on one problem thread."""

    student: bytes
    problem: Problem
    attempts: int
    latest: Submission | None
    verdicts: tuple[Feedback, ...]  # the current feedback on the latest attempt
    accepted: bool


# ---- queries ----------------------------------------------------------------------------

_first = problems.alias("first_revision")
_newer_problem = problems.alias("newer_problem")
_newer_feedback = feedback.alias("newer_feedback")
_linked_problem = problems.alias("linked_problem")


def _problem_query() -> Select[Any]:
    return select(problems)


def _to_problem(row: Any, roster: Roster, names: ClassNames) -> Problem:
    return Problem(
        id=row.event_id,
        root=row.root,
        revision_of=row.supersedes,
        author=row.author,
        author_name=names.label(row.author),
        # Official: published by an instructor (any, DESIGN §10) at the time.
        official=roster.is_instructor(row.author, row.ts),
        title=row.title,
        statement=row.statement,
        examples=tuple(Example(i, o) for i, o in json.loads(row.examples)),
        tags=tuple(json.loads(row.tags)),
        due=row.due,
        ts=row.ts,
        seq=row.seq,
        languages=tuple(json.loads(row.languages)),
        late_policy=row.late_policy,
        hidden_detail=row.hidden_detail,
        graded_attempts=row.graded_attempts,
    )


def list_problems(store: Store, instructor: bytes) -> list[Problem]:
    """The newest revision of every problem, in order of first publication: lists show each problem
    once, as its author last wrote it, in an order every peer agrees on."""
    is_newest = ~exists().where(
        _newer_problem.c.root == problems.c.root, _newer_problem.c.seq > problems.c.seq
    )
    query = (
        _problem_query()
        .join(_first, _first.c.event_id == problems.c.root)
        .where(is_newest)
        .order_by(_first.c.ts, _first.c.author, _first.c.seq)
    )
    names = store.names()
    with store.read() as conn:
        roster = load_roster(conn, instructor)
        return [_to_problem(row, roster, names) for row in conn.execute(query)]


def get_problem(store: Store, problem_id: bytes, instructor: bytes) -> Problem | None:
    """That exact revision of a problem, if held: a submission names the revision it answered, which
    may not be the newest."""
    query = _problem_query().where(problems.c.event_id == problem_id)
    names = store.names()
    with store.read() as conn:
        row = conn.execute(query).first()
        roster = load_roster(conn, instructor)
    return None if row is None else _to_problem(row, roster, names)


def newest_revision(store: Store, problem_id: bytes, instructor: bytes) -> Problem | None:
    """The newest revision of the thread ``problem_id`` belongs to, if held: any revision's id (an
    old link, a short prefix) must lead to what the problem says now."""
    root = select(problems.c.root).where(problems.c.event_id == problem_id).scalar_subquery()
    query = _problem_query().where(problems.c.root == root).order_by(problems.c.seq.desc())
    names = store.names()
    with store.read() as conn:
        row = conn.execute(query.limit(1)).first()
        roster = load_roster(conn, instructor)
    return None if row is None else _to_problem(row, roster, names)


def next_attempt(store: Store, author: bytes, problem: bytes) -> int:
    """The attempt number ``author``'s next submission to ``problem`` must carry: every peer checks
    the numbers run 1, 2, 3 with no gap, so the author must count the same way."""
    with store.read() as conn:
        return count_attempts(conn, author, problem) + 1


def _submission_query() -> Select[Any]:
    # Only submissions whose problem is held: the rest link up when it arrives.
    return select(submissions, _linked_problem.c.root.label("problem_root")).join_from(
        submissions, _linked_problem, _linked_problem.c.event_id == submissions.c.problem
    )


def _to_submission(
    row: Any, thread: _Thread, names: ClassNames, attest: Attestor | None = None
) -> Submission:
    due = thread.due_for(row.author)
    if attest is None:
        late, attested, skew = is_late(row.ts, due, thread.late_policy), None, DEFAULT_SKEW_MS
    else:  # witnessed time decides (issue 18), not the author's clock alone
        late = attest.late(row.author, row.seq, row.ts, due, thread.late_policy)
        attested, skew = attest.attested(row.author, row.seq), attest.rules.skew_ms
    return Submission(
        id=row.event_id,
        problem_id=row.problem,
        problem_root=row.problem_root,
        problem_title=thread.title,
        author=row.author,
        author_name=names.label(row.author),
        attempt=row.attempt,
        ts=row.ts,
        seq=row.seq,
        language=row.language,
        checks_passed=row.checks_passed,
        checks_total=row.checks_total,
        late=late,
        days_late=_days_late(late, attested, row.ts, due),
        attested=attested,
        skew_ms=skew,
        readable=bool(row.readable),
        invalid=bool(row.invalid),
    )


@attrs.frozen
class _Thread:
    """What a problem thread's newest revision says about every submission to it."""

    title: str
    due: int | None
    late_policy: str
    #: Issue 20: student -> their extended due date on this thread.
    extended: dict[bytes, int] = attrs.field(factory=dict)

    def due_for(self, student: bytes) -> int | None:
        """The student's own due date: their extension's, else the newest revision's."""
        return self.extended.get(student, self.due)

    def days_late(self, student: bytes, ts: int) -> int:
        """Started days late (0 when on time, or when late work counts as on time)."""
        if not is_late(ts, self.due_for(student), self.late_policy):
            return 0
        return days_late(to_ms(ts), self.due_for(student), 0)


def _threads(conn: Any) -> dict[bytes, _Thread]:
    """Thread root -> title, due date and late policy of its newest revision, and the
    extensions granted on it (``storage.queries._term``)."""
    query = select(
        problems.c.root, problems.c.title, problems.c.due, problems.c.late_policy
    ).order_by(problems.c.seq)
    threads = {
        row.root: _Thread(row.title, row.due, row.late_policy) for row in conn.execute(query)
    }
    for (root, student), due in extended_dues(conn).items():
        if root in threads:
            threads[root].extended[student] = due
    return threads


def list_submissions(
    store: Store,
    *,
    problem_root: bytes | None = None,
    author: bytes | None = None,
    paging: Paging = EVERYTHING,
) -> list[Submission]:
    """Submissions whose problem is held, oldest first; optionally one thread or author, and
    one page (``storage.queries._paging``: the newest N, before a submission, since a time)."""
    query = _submission_query()
    if problem_root is not None:
        query = query.where(_linked_problem.c.root == problem_root)
    if author is not None:
        query = query.where(submissions.c.author == author)
    names = store.names()
    roster = store.roster()
    with store.read() as conn:
        end = (
            None
            if paging.before is None
            else key_of(conn, submissions, paging.before, "submission")
        )
        threads = _threads(conn)
        attest = _attestor(conn, store)
        return newest(
            (
                _to_submission(row, threads[row.problem_root], names, attest)
                for row in conn.execute(paged(query, submissions, paging, end))
                # A removed student's later submissions are ignored; earlier ones stay history.
                if roster is None or not roster.ignores(row.author, row.ts, row.seq)
            ),
            paging,
        )


def get_submission(store: Store, submission_id: bytes) -> SubmissionDetail | None:
    """A submission with its solution and self-check, if it and its problem are held: one read for
    the pages and commands that show the code itself (lists leave it out, it can be large)."""
    query = _submission_query().where(submissions.c.event_id == submission_id)
    names = store.names()
    with store.read() as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        thread = _threads(conn)[row.problem_root]
        attest = _attestor(conn, store)
    checks = tuple(Check(bool(p), d) for p, d in json.loads(row.checks or "[]"))
    return SubmissionDetail(_to_submission(row, thread, names, attest), row.solution, checks)


def _days_late(late: bool, attested: int | None, ts: int, due: int | None) -> int:
    """Started days late (issue 20's penalty), counted from when a witness first held the
    work where one did (issue 18), else from its claimed time; at least one when late."""
    if not late:
        return 0
    return max(1, days_late(attested if attested is not None else to_ms(ts), due, 0))


def _attestor(conn: Any, store: Store) -> Attestor | None:
    """Witnessed time for this store's class (None without a reader: claims only)."""
    return None if store.reader is None else attestor(conn, store.reader.instructor)


@attrs.frozen
class SubmissionRef:
    """What is known of a submission whether or not its problem is held."""

    author: bytes
    problem: bytes
    attempt: int


def submission_ref(store: Store, submission_id: bytes) -> SubmissionRef | None:
    """Author, problem and attempt of a submission, even when its problem has not arrived: feedback
    and rubric points must check whom and what they are about before the problem links up."""
    query = select(submissions.c.author, submissions.c.problem, submissions.c.attempt).where(
        submissions.c.event_id == submission_id
    )
    with store.read() as conn:
        row = conn.execute(query).first()
    return None if row is None else SubmissionRef(row.author, row.problem, row.attempt)


def has_submitted(store: Store, author: bytes, problem: bytes) -> bool:
    """Whether ``author`` submitted to ``problem`` or to any revision of its thread: a student may
    review classmates' work only on a problem they tried themselves."""
    root = select(problems.c.root).where(problems.c.event_id == problem).scalar_subquery()
    in_thread = select(problems.c.event_id).where(problems.c.root == root)
    query = select(
        exists().where(
            submissions.c.author == author,
            or_(submissions.c.problem == problem, submissions.c.problem.in_(in_thread)),
        )
    )
    with store.read() as conn:
        return bool(conn.execute(query).scalar())


def list_feedback(
    store: Store,
    instructor: bytes,
    *,
    submission: bytes | None = None,
    every_version: bool = False,
    paging: Paging = EVERYTHING,
) -> list[Feedback]:
    """The newest revision of each piece of feedback (or, with ``every_version``, every
    revision: the report shows how feedback changed), oldest first; ``paging`` picks one page
    (``storage.queries._paging``: the newest N, before a piece of feedback, since a time).

    Only feedback on a held submission (to a held problem) by someone other than the
    submission's author is listed; the rest waits for what it refers to, or never counts.
    """
    is_newest = ~exists().where(
        _newer_feedback.c.root == feedback.c.root, _newer_feedback.c.seq > feedback.c.seq
    )
    query = (
        select(
            feedback,
            submissions.c.author.label("submission_author"),
            submissions.c.problem,
            _linked_problem.c.root.label("problem_root"),
        )
        .join_from(feedback, submissions, submissions.c.event_id == feedback.c.submission)
        .join(_linked_problem, _linked_problem.c.event_id == submissions.c.problem)
        .where(feedback.c.author != submissions.c.author)
    )
    if not every_version:
        query = query.where(is_newest)
    if submission is not None:
        query = query.where(feedback.c.submission == submission)
    names = store.names()
    with store.read() as conn:
        roster = load_roster(conn, instructor)
        readers = load_readers(conn, roster)  # only readers review (issue 18)
        end = None if paging.before is None else key_of(conn, feedback, paging.before, "feedback")
        rows = newest(
            (
                row
                for row in conn.execute(paged(query, feedback, paging, end))
                # Feedback counts from roster members only (issue 10): pending, removed and
                # unknown identities' verdicts are left out, so Sybils cannot move a verdict.
                if roster.is_instructor(row.author, row.ts)
                or (roster.counts(row.author) and readers.reads(row.author, row.submission, row.ts))
            ),
            paging,
        )
        return [
            Feedback(
                id=row.event_id,
                root=row.root,
                revision_of=row.supersedes,
                submission_id=row.submission,
                submission_author=row.submission_author,
                problem_id=row.problem,
                problem_root=row.problem_root,
                reviewer=row.author,
                reviewer_name=names.label(row.author),
                # Instructor weight: instructors and TAs at the time (issue 20).
                role="instructor" if roster.holds(row.author, STAFF_ROLES, row.ts) else "peer",
                verdict=row.verdict,
                score=row.score,
                comment=row.comment,
                ts=row.ts,
                seq=row.seq,
                readable=bool(row.readable),
                invalid=bool(row.invalid),
            )
            for row in rows
        ]


def review_queue(store: Store, instructor: bytes) -> list[Submission]:
    """Submissions to official problems that have no instructor feedback yet, oldest first
    (what ``peerclass queue`` lists and ``peerclass grade --all`` grades)."""
    official = {p.root for p in list_problems(store, instructor) if p.official}
    with store.read() as conn:
        staff = set(load_roster(conn, instructor).staff())
    graded = {f.submission_id for f in list_feedback(store, instructor) if f.role == "instructor"}
    return [
        s
        for s in list_submissions(store)
        if s.problem_root in official and s.id not in graded and s.author not in staff
    ]


def students(store: Store, instructor: bytes) -> list[bytes]:
    """Everyone but the instructors and TAs who has a profile or a submission, by name then id: the
    report and the board list the class, and a roster (where there is one) decides who is in it."""
    names = store.names()
    with store.read() as conn:
        authors = set(names) | set(conn.execute(select(submissions.c.author)).scalars())
        roster = load_roster(conn, instructor)
        who = load_persons(conn, roster)
    if roster.rostered:  # the roster's students (removed ones keep their history)
        authors = {e.peer_id for e in roster.entries.values() if e.state != "pending"}
    authors -= {instructor, *roster.staff()}
    authors -= {e.peer_id for e in roster.entries.values() if e.role in STAFF_ROLES}
    authors = {who.of(a) for a in authors}  # one person, however many keys (issue 22)
    return sorted(authors, key=lambda a: (names.label(a), a))


def progress(store: Store, instructor: bytes, people: Iterable[bytes]) -> list[Progress]:
    """Each of ``people`` on each problem, student by student, problems in list order.

    Accepted follows ``peer.acceptance``, the rule the report uses too.
    """
    problem_list = list_problems(store, instructor)
    every_submission = list_submissions(store)
    every_feedback = list_feedback(store, instructor)
    who = persons(store, instructor)  # a replaced key's history is its person's (issue 22)
    return [
        _progress_of(person, problem, every_submission, every_feedback, who)
        for person in people
        for problem in problem_list
    ]


def _progress_of(
    person: bytes,
    problem: Problem,
    every_submission: Sequence[Submission],
    every_feedback: Sequence[Feedback],
    who: Persons,
) -> Progress:
    mine = [
        s for s in every_submission if who.of(s.author) == person and s.problem_root == problem.root
    ]
    ids = {s.id for s in mine}
    reviews = [f for f in every_feedback if f.submission_id in ids]
    latest = max(mine, key=lambda s: (s.ts, s.seq), default=None)
    verdicts = tuple(f for f in reviews if latest is not None and f.submission_id == latest.id)
    attempt_of = {s.id: s.attempt for s in mine}
    accepted = (
        accepted_attempt(
            Verdict(f.reviewer, f.role, f.verdict, f.ts, f.id, attempt_of[f.submission_id])
            for f in reviews
            if f.verdict is not None  # only what this identity can read decides here
        )
        is not None
    )
    return Progress(person, problem, len(mine), latest, verdicts, accepted)
