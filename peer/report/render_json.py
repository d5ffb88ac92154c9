"""The report as one JSON object; its schema is documented in the README ("Report JSON format")."""

from __future__ import annotations

import json
from typing import Any

from peer.log import hlc
from peer.report.model import (
    Attempt,
    GivenFeedback,
    ProblemHistory,
    ProblemStats,
    Report,
    StudentReport,
    Thread,
    Version,
)
from peer.report.text import iso, number


def render_json(report: Report) -> str:
    """Keys in a fixed order and no generation time: the same store gives the same bytes."""
    return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"


def to_json(report: Report) -> dict[str, Any]:
    return {
        "generated_for": {
            "peer_id": report.viewer.id.hex(),
            "name": report.viewer.name,
            "role": report.viewer_role,
            "scope": report.scope,
            "problem_id": None if report.problem_filter is None else report.problem_filter.hex(),
            "since": None if report.since is None else iso(report.since),
        },
        "students": [_student(s) for s in report.students],
        "problems": [_problem_stats(p) for p in report.problems],
    }


def _student(s: StudentReport) -> dict[str, Any]:
    summary = s.summary
    delay = summary.median_feedback_delay_ms
    return {
        "id": s.student.id.hex(),
        "name": s.student.name,
        "summary": {
            "problems_attempted": summary.problems_attempted,
            "problems_accepted": summary.problems_accepted,
            "attempts_until_accepted": {
                h.problem.id.hex(): h.attempts_until_accepted
                for h in s.problems
                if h.attempts_until_accepted is not None
            },
            "mean_peer_score": number(summary.mean_peer_score),
            "mean_instructor_score": number(summary.mean_instructor_score),
            "median_feedback_delay_seconds": None if delay is None else number(delay / 1000),
            "feedback_received": summary.feedback_received,
            "feedback_given": summary.feedback_given,
        },
        "problems": [_history(h) for h in s.problems],
        "feedback_given": [_given(g) for g in s.given],
    }


def _history(h: ProblemHistory) -> dict[str, Any]:
    return {
        "problem_id": h.problem.id.hex(),
        "problem_title": h.problem.title,
        "official": h.problem.official,
        "due": _due(h.problem.due),
        "status": h.status,
        "attempts_until_accepted": h.attempts_until_accepted,
        "attempts": [_attempt(a) for a in h.attempts],
    }


def _attempt(a: Attempt) -> dict[str, Any]:
    return {
        "submission_id": a.submission_id.hex(),
        "attempt": a.number,
        "submitted_at": iso(a.ts),
        "language": a.language,
        "checks_passed": a.checks_passed,
        "checks_total": a.checks_total,
        "late": a.late,
        "feedback": [_thread(t) for t in a.feedback],
    }


def _given(g: GivenFeedback) -> dict[str, Any]:
    return {
        "student_id": g.to.id.hex(),
        "student_name": g.to.name,
        "problem_id": g.problem.id.hex(),
        "problem_title": g.problem.title,
        "attempt": g.attempt,
        "feedback": _thread(g.thread),
    }


def _thread(t: Thread) -> dict[str, Any]:
    return {**_version(t.current), "earlier_versions": [_version(v) for v in t.earlier]}


def _version(v: Version) -> dict[str, Any]:
    return {
        "id": v.id.hex(),
        "reviewer_id": v.reviewer.id.hex(),
        "reviewer_name": v.reviewer.name,
        "reviewer_role": v.role,
        "verdict": v.verdict,
        "score": v.score,
        "comment": v.comment,
        "feedback_at": iso(v.ts),
        "revision_of": None if v.revision_of is None else v.revision_of.hex(),
    }


def _due(due_ms: int | None) -> str | None:
    return None if due_ms is None else iso(hlc.from_ms(due_ms))


def _problem_stats(p: ProblemStats) -> dict[str, Any]:
    return {
        "id": p.problem.id.hex(),
        "title": p.problem.title,
        "official": p.problem.official,
        "due": _due(p.problem.due),
        "attempted": p.attempted,
        "accepted": p.accepted,
        "median_attempts": number(p.median_attempts),
    }
