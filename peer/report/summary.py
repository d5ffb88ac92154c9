"""The report's computations, pure: a snapshot and a request in, an ordered ``Report`` out.

Every ordering uses deterministic keys (names then ids, titles then ids, attempts in time
order, timestamps then ids), so the same store always gives the same report, whatever order its
events arrived in. The acceptance rule: the latest instructor verdict decides; with no
instructor feedback, a strict majority of the reviewers' latest peer verdicts must be
``accept``. Every rule looks at the current (newest) version of each piece of feedback.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from peer.log import hlc
from peer.report.model import (
    Attempt,
    FeedbackVersion,
    GivenFeedback,
    Person,
    Problem,
    ProblemHistory,
    ProblemStats,
    Report,
    Request,
    Snapshot,
    Status,
    StudentReport,
    StudentSummary,
    Submission,
    Thread,
    Version,
)
from storage.queries import Verdict, accepted_attempt

#: Resolves a peer id to a person with the name their latest profile gives.
_PersonOf = Callable[[bytes], Person]


def person_key(person: Person) -> tuple[str, str, bytes]:
    """People sort by name (case-insensitively, then exactly), then by id."""
    return person.label.casefold(), person.label, person.id


def problem_key(problem: Problem) -> tuple[str, str, bytes]:
    return problem.title.casefold(), problem.title, problem.id


def build_report(snapshot: Snapshot, request: Request) -> Report:
    """The whole report for ``request``: students, their histories and summaries, problems."""

    def person(peer_id: bytes) -> Person:
        return Person(peer_id, snapshot.names.get(peer_id))

    problems = _problems(snapshot, request)
    submissions = [
        s
        for s in snapshot.submissions
        if s.problem_id in problems and (request.since is None or s.ts >= request.since)
    ]
    threads = _threads_by_submission(snapshot.feedback, person)
    if request.scope == "class":
        student_ids: Iterable[bytes] = snapshot.students
    else:
        student_ids = [request.student_id or request.viewer_id]
    students = sorted({person(i) for i in student_ids}, key=person_key)
    reports = tuple(
        _student_report(who, problems, submissions, threads, person) for who in students
    )
    shown = {h.problem.id for r in reports for h in r.problems}
    stats = tuple(
        _problem_stats(p, reports)
        for p in sorted(problems.values(), key=problem_key)
        if p.official or p.id in shown
    )
    return Report(
        viewer=person(request.viewer_id),
        viewer_role=request.viewer_role,
        scope=request.scope,
        problem_filter=request.problem_id,
        since=request.since,
        students=reports,
        problems=stats,
    )


def _problems(snapshot: Snapshot, request: Request) -> dict[bytes, Problem]:
    """Problems in scope by id; one that submissions name but that has not arrived gets a
    placeholder title, so its attempts still show."""
    problems = {p.id: p for p in snapshot.problems}
    for s in snapshot.submissions:
        if s.problem_id not in problems:
            title = f"unknown problem {s.problem_id.hex()[:8]}"
            problems[s.problem_id] = Problem(s.problem_id, title, official=False)
    if request.problem_id is not None:
        problems = {k: v for k, v in problems.items() if k == request.problem_id}
    return problems


def _threads_by_submission(
    feedback: Sequence[FeedbackVersion], person: _PersonOf
) -> dict[bytes, list[Thread]]:
    """Group versions into threads (a revision joins the thread of what it supersedes, when
    that is the same reviewer's feedback on the same submission)."""
    by_id = {f.id: f for f in feedback}

    def root(f: FeedbackVersion) -> bytes:
        seen = {f.id}
        while f.revision_of is not None:
            parent = by_id.get(f.revision_of)
            if (
                parent is None
                or parent.id in seen
                or parent.reviewer_id != f.reviewer_id
                or parent.submission_id != f.submission_id
            ):
                break
            seen.add(parent.id)
            f = parent
        return f.id

    grouped: dict[tuple[bytes, bytes], list[FeedbackVersion]] = defaultdict(list)
    for f in feedback:
        grouped[f.submission_id, root(f)].append(f)
    result: dict[bytes, list[Thread]] = defaultdict(list)
    for (submission_id, _root), versions in grouped.items():
        ordered = sorted(versions, key=lambda v: (v.ts, v.id))
        result[submission_id].append(Thread(tuple(_version(v, person) for v in ordered)))
    for threads in result.values():
        threads.sort(key=lambda t: (t.versions[0].ts, t.versions[0].id))
    return result


def _version(f: FeedbackVersion, person: _PersonOf) -> Version:
    return Version(
        id=f.id,
        reviewer=person(f.reviewer_id),
        role=f.role,
        verdict=f.verdict,
        score=f.score,
        comment=f.comment,
        ts=f.ts,
        revision_of=f.revision_of,
    )


def _attempt(s: Submission, threads: Mapping[bytes, list[Thread]]) -> Attempt:
    return Attempt(
        submission_id=s.id,
        number=s.attempt,
        ts=s.ts,
        language=s.language,
        checks_passed=s.checks_passed,
        checks_total=s.checks_total,
        feedback=tuple(threads.get(s.id, ())),
        late=s.late,
        days_late=s.days_late,
        attested=s.attested,
    )


def _student_report(
    student: Person,
    problems: Mapping[bytes, Problem],
    submissions: Sequence[Submission],
    threads: Mapping[bytes, list[Thread]],
    person: _PersonOf,
) -> StudentReport:
    own: dict[bytes, list[Submission]] = defaultdict(list)
    for s in submissions:
        if s.student_id == student.id:
            own[s.problem_id].append(s)
    histories = []
    for problem in sorted((problems[k] for k in own), key=problem_key):
        ordered = sorted(own[problem.id], key=lambda s: (s.ts, s.attempt, s.id))
        attempts = tuple(_attempt(s, threads) for s in ordered)
        status, until = decide(attempts)
        histories.append(ProblemHistory(problem, attempts, status, until))
    given = _given(student, problems, submissions, threads, person)
    return StudentReport(student, _summary(histories, given), tuple(histories), given)


def _given(
    student: Person,
    problems: Mapping[bytes, Problem],
    submissions: Sequence[Submission],
    threads: Mapping[bytes, list[Thread]],
    person: _PersonOf,
) -> tuple[GivenFeedback, ...]:
    given = [
        GivenFeedback(person(s.student_id), problems[s.problem_id], s.attempt, thread)
        for s in submissions
        if s.student_id != student.id
        for thread in threads.get(s.id, ())
        if thread.current.reviewer.id == student.id
    ]
    given.sort(
        key=lambda g: (
            person_key(g.to),
            problem_key(g.problem),
            g.attempt,
            g.thread.versions[0].ts,
            g.thread.versions[0].id,
        )
    )
    return tuple(given)


def decide(attempts: Sequence[Attempt]) -> tuple[Status, int | None]:
    """Status of one student's problem (attempts in time order), and how many attempts it
    took to be accepted, if it is (the rule is ``peer.acceptance``)."""
    if not attempts:
        return "not_attempted", None
    verdicts = [
        Verdict(v.reviewer.id, v.role, v.verdict, v.ts, v.id, number)
        for number, attempt in enumerate(attempts, start=1)
        for v in (thread.current for thread in attempt.feedback)
    ]
    if not verdicts:
        return "pending", None
    number = accepted_attempt(verdicts)
    return ("revise", None) if number is None else ("accepted", number)


def _mean(values: Sequence[int]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _summary(histories: Sequence[ProblemHistory], given: Sequence[GivenFeedback]) -> StudentSummary:
    received = [(a, t) for h in histories for a in h.attempts for t in a.feedback]
    scores: dict[str, list[int]] = {"peer": [], "instructor": []}
    for _attempt, thread in received:
        if thread.current.score is not None:
            scores[thread.current.role].append(thread.current.score)
    delays = [max(0, hlc.to_ms(t.versions[0].ts) - hlc.to_ms(a.ts)) for a, t in received]
    return StudentSummary(
        problems_attempted=len(histories),
        problems_accepted=sum(h.status == "accepted" for h in histories),
        mean_peer_score=_mean(scores["peer"]),
        mean_instructor_score=_mean(scores["instructor"]),
        median_feedback_delay_ms=round(statistics.median(delays)) if delays else None,
        feedback_received=len(received),
        feedback_given=len(given),
    )


def _problem_stats(problem: Problem, reports: Sequence[StudentReport]) -> ProblemStats:
    histories = [h for r in reports if (h := r.status_of(problem.id)) is not None]
    counts = [len(h.attempts) for h in histories]
    median = statistics.median(counts) if counts else None
    return ProblemStats(
        problem=problem,
        attempted=len(histories),
        accepted=sum(h.status == "accepted" for h in histories),
        median_attempts=None if median is None else float(median),
    )
