"""Frozen values of the report: the flat snapshot read from the store, and the nested report.

The snapshot is what ``gather`` reads (and what tests build by hand); ``summary`` turns it into
a ``Report``, which every renderer walks in the same, already deterministic, order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

Role = Literal["peer", "instructor"]
Status = Literal["accepted", "revise", "pending", "not_attempted"]
Scope = Literal["student", "class"]
ViewerRole = Literal["student", "instructor"]


# ---- the snapshot: flat rows as the store holds them --------------------------------------


@attrs.frozen
class Problem:
    id: bytes
    title: str
    official: bool
    due: int | None = None  # milliseconds since the epoch (its newest revision's)
    #: Points (of 100) taken off per started day late, and the most taken off (issue 20).
    late_penalty: int = 0
    late_cap: int = 100


@attrs.frozen
class Submission:
    id: bytes
    student_id: bytes
    problem_id: bytes
    attempt: int
    ts: int  # HLC
    language: str
    checks_passed: int
    checks_total: int
    late: bool = False  # by the problem's due date and late policy (peer.log.is_late)
    days_late: int = 0  # started days after the student's due date (an extension's, if any)
    #: When a witness first held it, as HLC, where that is further from ``ts`` than the
    #: class's allowed skew (issue 18: what decided ``late``), else None.
    attested: int | None = None


@attrs.frozen
class FeedbackVersion:
    """One feedback event; a revision names the version it supersedes in ``revision_of``."""

    id: bytes
    submission_id: bytes
    reviewer_id: bytes
    role: Role
    verdict: str
    score: int | None
    comment: str
    ts: int  # HLC
    revision_of: bytes | None


@attrs.frozen
class Snapshot:
    """Everything the report may show, unfiltered and in no particular order."""

    names: Mapping[bytes, str]
    students: tuple[bytes, ...]
    problems: tuple[Problem, ...]
    submissions: tuple[Submission, ...]
    feedback: tuple[FeedbackVersion, ...]


@attrs.frozen
class Request:
    """Who asks, about whom, and the filters of the command line."""

    viewer_id: bytes
    viewer_role: ViewerRole
    scope: Scope
    student_id: bytes | None = None  # with scope "student"; None: the viewer
    problem_id: bytes | None = None
    since: int | None = None  # HLC


# ---- the report: nested, ordered, with everything computed ----------------------------------


@attrs.frozen
class Person:
    id: bytes
    name: str | None  # None when no profile of theirs has arrived yet

    @property
    def label(self) -> str:
        """What people read: the name, or the short id of a peer we have no name for."""
        return self.name if self.name is not None else self.id.hex()[:8]


@attrs.frozen
class Version:
    """One version of a piece of feedback, with its reviewer resolved."""

    id: bytes
    reviewer: Person
    role: Role
    verdict: str
    score: int | None
    comment: str
    ts: int
    revision_of: bytes | None


@attrs.frozen
class Thread:
    """A piece of feedback and its revisions, oldest first; the last one counts."""

    versions: tuple[Version, ...]

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def earlier(self) -> tuple[Version, ...]:
        return self.versions[:-1]


@attrs.frozen
class Attempt:
    submission_id: bytes
    number: int
    ts: int
    language: str
    checks_passed: int
    checks_total: int
    feedback: tuple[Thread, ...]
    late: bool = False
    days_late: int = 0
    attested: int | None = None  # HLC; see ``Submission.attested``


@attrs.frozen
class ProblemHistory:
    """One student's attempts at one problem and what the verdicts add up to."""

    problem: Problem
    attempts: tuple[Attempt, ...]
    status: Status
    attempts_until_accepted: int | None


@attrs.frozen
class GivenFeedback:
    """Feedback this student gave on someone else's attempt."""

    to: Person
    problem: Problem
    attempt: int
    thread: Thread


@attrs.frozen
class StudentSummary:
    problems_attempted: int
    problems_accepted: int
    mean_peer_score: float | None
    mean_instructor_score: float | None
    median_feedback_delay_ms: int | None
    feedback_received: int
    feedback_given: int


@attrs.frozen
class StudentReport:
    student: Person
    summary: StudentSummary
    problems: tuple[ProblemHistory, ...]
    given: tuple[GivenFeedback, ...]

    def status_of(self, problem_id: bytes) -> ProblemHistory | None:
        return next((p for p in self.problems if p.problem.id == problem_id), None)


@attrs.frozen
class ProblemStats:
    """A problem across the students of the report."""

    problem: Problem
    attempted: int
    accepted: int
    median_attempts: float | None


@attrs.frozen
class Report:
    viewer: Person
    viewer_role: ViewerRole
    scope: Scope
    problem_filter: bytes | None
    since: int | None
    students: tuple[StudentReport, ...]
    problems: tuple[ProblemStats, ...]
