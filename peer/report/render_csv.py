"""The report as CSV: one row per (attempt, feedback version), RFC 4180 quoting.

Safe to open in a spreadsheet: a text cell that a spreadsheet would read as a formula (one
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``, as
OWASP's "CSV injection" advice says, so ``=1+1`` stays the text ``=1+1``. The file starts with
a UTF-8 byte order mark, so LibreOffice and Excel read names in any script correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from peer.report.model import Attempt, Report, StudentReport, Version
from peer.report.text import iso

COLUMNS = (
    "student_id",
    "student_name",
    "problem_id",
    "problem_title",
    "attempt",
    "submitted_at",
    "checks_passed",
    "checks_total",
    "feedback_id",
    "reviewer_id",
    "reviewer_name",
    "reviewer_role",
    "verdict",
    "score",
    "comment",
    "feedback_at",
    "revision_of",
    "late",
)

Cell = str | int | None
#: What makes a spreadsheet evaluate a cell (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(cell: Cell) -> Cell:
    """A text cell a spreadsheet would evaluate, made plain text; numbers stay numbers."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def render_csv(report: Report) -> str:
    """Every version of revised feedback is a row of its own (``revision_of`` on the newer);
    an attempt nobody reviewed yet is one row with empty feedback cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    writer.writerows([neutralise(cell) for cell in row] for row in _rows(report))
    return BOM + out.getvalue()


def _rows(report: Report) -> Iterator[list[Cell]]:
    for student in report.students:
        for history in student.problems:
            for attempt in history.attempts:
                head = _attempt_cells(student, history.problem.id, history.problem.title, attempt)
                versions = sorted(
                    (v for t in attempt.feedback for v in t.versions), key=lambda v: (v.ts, v.id)
                )
                late = "true" if attempt.late else "false"
                if not versions:
                    yield [*head, *([None] * 9), late]
                for version in versions:
                    yield [*head, *_feedback_cells(version), late]


def _attempt_cells(
    student: StudentReport, problem_id: bytes, title: str, attempt: Attempt
) -> list[Cell]:
    return [
        student.student.id.hex(),
        student.student.name,
        problem_id.hex(),
        title,
        attempt.number,
        iso(attempt.ts),
        attempt.checks_passed,
        attempt.checks_total,
    ]


def _feedback_cells(v: Version) -> list[Cell]:
    return [
        v.id.hex(),
        v.reviewer.id.hex(),
        v.reviewer.name,
        v.role,
        v.verdict,
        v.score,
        v.comment,
        iso(v.ts),
        None if v.revision_of is None else v.revision_of.hex(),
    ]
