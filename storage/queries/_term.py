"""Per-student due dates (issue 20): the extensions an instructor granted, by problem thread.

An extension names any revision of a problem; it applies to the thread. The latest one an
instructor signed for a student wins (by time, then author and seq, so every peer agrees);
extensions signed by anyone else never count. A peer sees only the extensions sealed to it:
a student their own, the instructors every one.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select

from storage._reader import reader_of
from storage.projections import load_roster
from storage.schema import extensions, feedback, problems

if TYPE_CHECKING:
    from storage._store import Store


def extended_dues(conn: Any) -> dict[tuple[bytes, bytes], int]:
    """(thread root, student) -> that student's due date (ms since the epoch, UTC)."""
    reader = reader_of(conn)
    if reader is None:
        return {}
    query = (
        select(
            extensions.c.author,
            extensions.c.ts,
            extensions.c.student,
            extensions.c.due,
            problems.c.root,
        )
        .join_from(extensions, problems, problems.c.event_id == extensions.c.problem)
        .where(extensions.c.readable, ~extensions.c.invalid)
        .order_by(extensions.c.ts, extensions.c.author, extensions.c.seq)
    )
    roster = load_roster(conn, reader.instructor)
    found: dict[tuple[bytes, bytes], int] = {}
    for row in conn.execute(query):
        if roster.is_instructor(row.author, row.ts) and row.student is not None:
            found[row.root, row.student] = row.due
    return found


@attrs.frozen
class ProblemTerm:
    """What a problem thread's newest revision says of penalties and its rubric."""

    late_penalty: int = 0  # points of 100 per started day late
    late_cap: int = 100  # the most taken off
    rubric: dict[str, Any] | None = None  # ``peer.log.check_rubric``'s shape


def problem_terms(store: Store) -> dict[bytes, ProblemTerm]:
    """Thread root -> its newest revision's late penalty, cap and rubric: a revision may change the
    terms, and grades follow the newest."""
    query = select(
        problems.c.root, problems.c.late_penalty, problems.c.late_cap, problems.c.rubric
    ).order_by(problems.c.seq)
    with store.read() as conn:
        return {
            row.root: ProblemTerm(
                row.late_penalty,
                row.late_cap,
                None if row.rubric is None else json.loads(row.rubric),
            )
            for row in conn.execute(query)
        }


@attrs.frozen
class FeedbackTerm:
    """The issue-20 part of one feedback event, where this identity can read it."""

    tests_hash: str | None  # the test folder a grade came from
    tests_score: int | None  # the tests' score before any rubric
    rubric: dict[str, int]  # criterion -> points given


def feedback_terms(store: Store, ids: Collection[bytes]) -> dict[bytes, FeedbackTerm]:
    """Feedback id -> its tests hash, tests score and rubric points: a regrade needs to know which
    tests judged, and a grade keeps the hand-marked points."""
    query = select(
        feedback.c.event_id, feedback.c.tests_hash, feedback.c.tests_score, feedback.c.rubric
    ).where(feedback.c.event_id.in_(list(ids)))
    with store.read() as conn:
        return {
            row.event_id: FeedbackTerm(
                row.tests_hash,
                row.tests_score,
                {} if row.rubric is None else json.loads(row.rubric),
            )
            for row in conn.execute(query)
        }
