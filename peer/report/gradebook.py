"""The gradebook: one row per student, one column per official problem, then the total.

What a learning management system (Moodle, Canvas) or a spreadsheet keeps, as opposed to the
event history of the other formats. A cell is the final score of one student on one problem:

* the score of the *deciding* verdict, which is the latest instructor-weight verdict on any of
  the student's attempts (the instructor's, or a teaching assistant's), as ``accepted`` is
  decided everywhere else; peer scores are advice to the student, not grades, so a problem
  nobody with instructor weight scored is an empty cell;
* minus the late penalty of the attempt that verdict reviewed: the problem's points per
  started day late (``problem publish --late-penalty``), at most its cap (``--late-cap``),
  never below zero. Days late count from the student's own due date (an extension's, else the
  problem's newest revision's), so moving either recomputes every cell.

The total adds the cells, empty ones counting nothing. Everything is whole points of 100 per
problem, so the CSV holds plain integers that every spreadsheet reads as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import attrs

from peer.log import penalty
from peer.report.model import Problem, ProblemHistory, Report, StudentReport, Version
from peer.report.render_csv import BOM, Cell, neutralise

#: Moodle's CSV grade import (``grade/import/csv``, documented at
#: https://docs.moodle.org/en/Grade_import) reads one line per student; one column
#: identifies the user and is mapped in its preview to ``userid``, ``useridnumber``,
#: ``useremail`` or ``username`` (``gradeimport_csv_load_data::map_user_data_with_value``);
#: every other column is a grade item, matched by its header to a grade item's name; an
#: empty cell or ``-`` is "no grade", anything else must be a number. We identify students
#: by their roster name under ``Username`` (invite students ``--for`` their Moodle username,
#: or map the column to another user field in the preview).
MOODLE_IDENTIFIER = "Username"


@attrs.frozen
class GradeCell:
    """One student's final score on one problem, and how it came about."""

    score: int | None  # after the late penalty; None: no instructor-weight score yet
    raw: int | None  # the deciding verdict's score
    penalty: int  # points taken off for lateness
    days_late: int


@attrs.frozen
class Row:
    student_id: bytes
    name: str
    cells: tuple[GradeCell, ...]

    @property
    def total(self) -> int:
        return sum(c.score for c in self.cells if c.score is not None)


@attrs.frozen
class Gradebook:
    problems: tuple[Problem, ...]
    rows: tuple[Row, ...]


def build_gradebook(report: Report) -> Gradebook:
    """The report's students by its order, and its official problems by its order."""
    problems = tuple(p.problem for p in report.problems if p.problem.official)
    rows = tuple(
        Row(s.student.id, s.student.label, tuple(_cell(s, p) for p in problems))
        for s in report.students
    )
    return Gradebook(problems, rows)


def penalty_points(problem: Problem, days_late: int) -> int:
    """Points of 100 taken off an attempt ``days_late`` started days late."""
    return penalty(problem.late_penalty, problem.late_cap, days_late)


def _cell(student: StudentReport, problem: Problem) -> GradeCell:
    history = student.status_of(problem.id)
    deciding = None if history is None else deciding_verdict(history)
    if deciding is None or deciding[0].score is None:
        return GradeCell(None, None, 0, 0)
    version, days_late = deciding
    assert version.score is not None
    penalty = penalty_points(problem, days_late)
    return GradeCell(max(0, version.score - penalty), version.score, penalty, days_late)


def deciding_verdict(history: ProblemHistory) -> tuple[Version, int] | None:
    """The latest instructor-weight verdict on any attempt, and that attempt's days late."""
    found = [
        (thread.current, attempt.days_late)
        for attempt in history.attempts
        for thread in attempt.feedback
        if thread.current.role == "instructor"
    ]
    if not found:
        return None
    return max(found, key=lambda pair: (pair[0].ts, pair[0].id))


def _write(header: Sequence[Cell], rows: Sequence[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(c) for c in header])
    writer.writerows([neutralise(c) for c in row] for row in rows)
    return BOM + out.getvalue()


def render_gradebook_csv(report: Report) -> str:
    """``student_id, student_name``, one column per official problem (its title), ``total``;
    a UTF-8 BOM first and formula-like text neutralised, as in the report's CSV."""
    book = build_gradebook(report)
    header: list[Cell] = ["student_id", "student_name", *(p.title for p in book.problems)]
    header.append("total")
    rows = [
        [row.student_id.hex(), row.name, *(c.score for c in row.cells), row.total]
        for row in book.rows
    ]
    return _write(header, rows)


def render_gradebook_moodle(report: Report) -> str:
    """The layout Moodle's CSV grade import takes: the identifier column, then one column
    per problem named by its title (no total: Moodle computes its own course total)."""
    book = build_gradebook(report)
    header: list[Cell] = [MOODLE_IDENTIFIER, *(p.title for p in book.problems)]
    rows = [[row.name, *(c.score for c in row.cells)] for row in book.rows]
    return _write(header, rows)
