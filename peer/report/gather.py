"""Read the report's snapshot from the store, through the curriculum's queries (read-only).

Problems are keyed by their thread (the first revision's id, which submissions name) and
titled by their newest revision. Only submissions whose problem is held count, as in every
other curriculum query; feedback keeps every version, which the curriculum lists only newest.
"""

from __future__ import annotations

from sqlalchemy import select

from peer.report.model import FeedbackVersion, Problem, Snapshot, Submission
from storage.curriculum import list_problems, list_submissions, students
from storage.schema import feedback, submissions
from storage.store import Store


def gather(store: Store, instructor: bytes) -> Snapshot:
    """Everything a report can show; ``summary.build_report`` chooses and orders it."""
    problems = tuple(Problem(p.root, p.title, p.official) for p in list_problems(store, instructor))
    held = tuple(
        Submission(
            id=s.id,
            student_id=s.author,
            problem_id=s.problem_root,
            attempt=s.attempt,
            ts=s.ts,
            language=s.language,
            checks_passed=s.checks_passed,
            checks_total=s.checks_total,
        )
        for s in list_submissions(store)
    )
    return Snapshot(
        names=store.names(),
        students=tuple(students(store, instructor)),
        problems=problems,
        submissions=held,
        feedback=_every_version(store, instructor, {s.id for s in held}),
    )


def _every_version(
    store: Store, instructor: bytes, held: set[bytes]
) -> tuple[FeedbackVersion, ...]:
    """Every version of feedback on a held submission by someone other than its author."""
    query = select(
        feedback.c.event_id,
        feedback.c.submission,
        feedback.c.author,
        feedback.c.verdict,
        feedback.c.score,
        feedback.c.comment,
        feedback.c.ts,
        feedback.c.supersedes,
    ).join_from(feedback, submissions, submissions.c.event_id == feedback.c.submission)
    query = query.where(feedback.c.author != submissions.c.author)
    with store.read() as conn:
        rows = list(conn.execute(query))
    return tuple(
        FeedbackVersion(
            id=row.event_id,
            submission_id=row.submission,
            reviewer_id=row.author,
            role="instructor" if row.author == instructor else "peer",
            verdict=row.verdict,
            score=row.score,
            comment=row.comment,
            ts=row.ts,
            revision_of=row.supersedes,
        )
        for row in rows
        if row.submission in held
    )
