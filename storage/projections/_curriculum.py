"""Curriculum projectors (problems, submissions, feedback): check, then write.

At receipt a projector refuses only what the event and its author's own earlier events decide
(an attempt number out of sequence, a revision of something that is not the author's own, a
review of one's own submission): every peer holds those, so every peer refuses the same
events. Links to other authors' events are never checked at receipt; queries join them.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, func, insert, select

from peer.errors import ValidationError
from peer.log import DEFAULT_HIDDEN_DETAIL, DEFAULT_LANGUAGES, DEFAULT_LATE_POLICY, Event
from storage.projections._envelope import envelope
from storage.projections._sealed import feedback_content, open_body, submission_content
from storage.schema import feedback, problems, submissions


def project_problem(conn: Connection, event: Event) -> None:
    """Record a problem revision in its thread, refusing a revision of someone else's problem: only
    a problem's author may change what it asks."""
    body = event.body
    supersedes: bytes | None = body.get("supersedes")
    root = event.id
    if supersedes is not None:
        earlier = conn.execute(
            select(problems.c.author, problems.c.root).where(problems.c.event_id == supersedes)
        ).first()
        if earlier is None or earlier.author != event.author:
            raise ValidationError(
                f"problem supersedes {supersedes.hex()[:8]}, which is not an earlier problem "
                "by the same author"
            )
        root = earlier.root
    conn.execute(
        insert(problems).values(
            **envelope(event),
            root=root,
            supersedes=supersedes,
            title=body["title"],
            statement=body["statement"],
            examples=json.dumps([[e["input"], e["output"]] for e in body["examples"]]),
            tags=json.dumps(body["tags"]),
            due=body.get("due"),
            languages=json.dumps(body.get("languages", DEFAULT_LANGUAGES)),
            late_policy=body.get("late_policy", DEFAULT_LATE_POLICY),
            review=body.get("review", "instructor"),
            late_penalty=body.get("late_penalty", 0),
            late_cap=body.get("late_cap", 100),
            rubric=None if "rubric" not in body else json.dumps(body["rubric"], sort_keys=True),
            hidden_detail=body.get("hidden_detail", DEFAULT_HIDDEN_DETAIL),
            graded_attempts=body.get("graded_attempts"),
        )
    )


def project_submission(conn: Connection, event: Event) -> None:
    """Record a submission, refusing an attempt number out of sequence, so every peer counts
    attempts the same way; sealed content is written only where this identity can open it."""
    body = event.body
    expected = count_attempts(conn, event.author, body["problem"]) + 1
    if body["attempt"] != expected:
        raise ValidationError(
            f"submission attempt is {body['attempt']}; its author's next attempt at that "
            f"problem is {expected}"
        )
    # Content, language and self-check are sealed (issue 10): only what this identity can
    # open is written; other rows keep the visible fields.
    content = open_body(conn, event).columns(submission_content)
    conn.execute(
        insert(submissions).values(
            **envelope(event),
            problem=body["problem"],
            attempt=body["attempt"],
            **content,
        )
    )


def project_feedback(conn: Connection, event: Event) -> None:
    """Record feedback (or a revision of the reviewer's own earlier feedback), refusing feedback on
    one's own work: every peer applies the same checks, so all agree which verdicts count."""
    body = event.body
    # The author's own submissions always precede their feedback in their log (a hash chain
    # cannot name a later event), so this check gives the same verdict on every peer.
    reviewed = conn.execute(
        select(submissions.c.author).where(submissions.c.event_id == body["submission"])
    ).first()
    if reviewed is not None and reviewed.author == event.author:
        raise ValidationError("feedback is on its author's own submission; feedback is for others")
    supersedes: bytes | None = body.get("supersedes")
    root = event.id
    if supersedes is not None:
        earlier = conn.execute(
            select(feedback.c.author, feedback.c.submission, feedback.c.root).where(
                feedback.c.event_id == supersedes
            )
        ).first()
        if earlier is None or earlier.author != event.author:
            raise ValidationError(
                f"feedback supersedes {supersedes.hex()[:8]}, which is not earlier feedback "
                "by the same author"
            )
        if earlier.submission != body["submission"]:
            raise ValidationError("feedback revision is about a different submission")
        root = earlier.root
    conn.execute(
        insert(feedback).values(
            **envelope(event),
            submission=body["submission"],
            root=root,
            supersedes=supersedes,
            **open_body(conn, event).columns(feedback_content),
        )
    )


def count_attempts(conn: Connection, author: bytes, problem: bytes) -> int:
    """How many submissions ``author`` made to ``problem``: attempt numbers must run without a gap,
    and both the author (``next_attempt``) and every receiving peer count with this."""
    query = (
        select(func.count())
        .select_from(submissions)
        .where(submissions.c.author == author, submissions.c.problem == problem)
    )
    return int(conn.execute(query).scalar_one())
