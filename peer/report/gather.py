"""Read the report's snapshot from the store, through the curriculum's queries (read-only).

Problems are keyed by their thread (the first revision's id, which submissions name) and
titled by their newest revision. Only submissions whose problem is held count, as in every
other curriculum query; feedback keeps every version, which the curriculum lists only newest.
"""

from __future__ import annotations

from peer.log import hlc
from peer.report.model import FeedbackVersion, Problem, Snapshot, Submission
from storage import Store
from storage.queries import (
    list_feedback,
    list_problems,
    list_submissions,
    persons,
    problem_terms,
    students,
)


def gather(store: Store, instructor: bytes) -> Snapshot:
    """Everything a report can show; ``summary.build_report`` chooses and orders it."""
    terms = problem_terms(store)
    who = persons(store, instructor)
    problems = tuple(
        Problem(
            p.root,
            p.title,
            p.official,
            p.due,
            late_penalty=terms[p.root].late_penalty,
            late_cap=terms[p.root].late_cap,
        )
        for p in list_problems(store, instructor)
    )
    held = tuple(
        Submission(
            id=s.id,
            student_id=who.of(s.author),  # one person, however many keys (issue 22)
            problem_id=s.problem_root,
            attempt=s.attempt,
            ts=s.ts,
            # What this identity cannot read is marked, never guessed (issue 10).
            language=s.language if s.language is not None else "(sealed)",
            checks_passed=s.checks_passed or 0,
            checks_total=s.checks_total or 0,
            late=s.late,
            days_late=s.days_late,
            attested=None if s.attested_apart is None else hlc.from_ms(s.attested_apart),
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
    return tuple(
        FeedbackVersion(
            id=f.id,
            submission_id=f.submission_id,
            reviewer_id=f.reviewer,
            role=f.role,
            verdict=f.verdict,
            score=f.score,
            comment=f.comment or "",
            ts=f.ts,
            revision_of=f.revision_of,
        )
        for f in list_feedback(store, instructor, every_version=True)
        # Feedback this identity cannot read is left out: the report shows what it may read.
        if f.submission_id in held and f.verdict is not None
    )
