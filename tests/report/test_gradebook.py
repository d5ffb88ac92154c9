"""The gradebook and the feedback timeline (issue 20), from snapshots made by hand.

The end-to-end term (real peers, LibreOffice reading the CSV) is ``tests/cli/test_term.py``.
"""

from __future__ import annotations

import csv
import io
import re

from peer.log import hlc
from peer.report.gradebook import (
    MOODLE_IDENTIFIER,
    build_gradebook,
    render_gradebook_csv,
    render_gradebook_moodle,
)
from peer.report.model import FeedbackVersion, Problem, Request, Snapshot, Submission
from peer.report.summary import build_report
from peer.report.svg_charts import tick_step, time_ticks

T0 = 1_760_000_000_000
KIM, ANN, BOB, EVE = (bytes([n]) * 32 for n in (1, 2, 3, 4))
ECHO, SORT, PRACTICE = (bytes([n]) * 32 for n in (10, 11, 12))


def _sub(n: int, who: bytes, problem: bytes, attempt: int, days_late: int = 0) -> Submission:
    return Submission(
        bytes([100 + n]) * 32, who, problem, attempt, hlc.from_ms(T0 + n * 1000), "python", 1,
        1, late=days_late > 0, days_late=days_late,
    )  # fmt: skip


def _fb(n: int, on: int, who: bytes, role: str, score: int | None) -> FeedbackVersion:
    return FeedbackVersion(
        bytes([200 + n]) * 32, bytes([100 + on]) * 32, who, role, "accept", score, "=cmd",  # type: ignore[arg-type]
        hlc.from_ms(T0 + 60_000 + n * 1000), None,
    )  # fmt: skip


def _snapshot() -> Snapshot:
    return Snapshot(
        names={KIM: "Kim", ANN: "Ann", BOB: "=Bob", EVE: "Eve"},
        students=(ANN, BOB, EVE),
        problems=(
            Problem(ECHO, "Echo", True, late_penalty=10, late_cap=25),
            Problem(SORT, "Sort", True),
            Problem(PRACTICE, "Practice", False),
        ),
        submissions=(
            _sub(1, ANN, ECHO, 1),
            _sub(2, ANN, ECHO, 2, days_late=2),
            _sub(3, BOB, ECHO, 1, days_late=5),
            _sub(4, ANN, SORT, 1),
            _sub(5, BOB, PRACTICE, 1),
        ),
        feedback=(
            _fb(1, 1, KIM, "instructor", 60),  # Ann's on-time attempt...
            _fb(2, 2, KIM, "instructor", 100),  # ...then her late one decides: 100 - 20
            _fb(3, 3, KIM, "instructor", 90),  # Bob, 5 days late: capped at 25 off
            _fb(4, 4, ANN, "peer", 100),  # a peer score is no grade: Sort stays empty
            _fb(5, 5, KIM, "instructor", 100),  # practice: not in the gradebook
        ),
    )


def _report():  # type: ignore[no-untyped-def]
    return build_report(_snapshot(), Request(KIM, "instructor", "class"))


def test_one_row_per_student_one_column_per_official_problem_with_penalties() -> None:
    book = build_gradebook(_report())
    assert [p.title for p in book.problems] == ["Echo", "Sort"]
    table = {row.name: ([c.score for c in row.cells], row.total) for row in book.rows}
    assert table == {"Ann": ([80, None], 80), "=Bob": ([65, None], 65), "Eve": ([None, None], 0)}
    ann = next(r for r in book.rows if r.name == "Ann")
    assert (ann.cells[0].raw, ann.cells[0].penalty, ann.cells[0].days_late) == (100, 20, 2)


def test_csv_has_bom_neutralised_text_and_plain_numbers() -> None:
    text = render_gradebook_csv(_report())
    assert text.startswith("\ufeffstudent_id,student_name,Echo,Sort,total\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    # Students by name, as the report orders them ("=" sorts first).
    assert rows[1] == [BOB.hex(), "'=Bob", "65", "", "65"]  # a formula stays text
    assert rows[2] == [ANN.hex(), "Ann", "80", "", "80"]
    assert rows[3] == [EVE.hex(), "Eve", "", "", "0"]


def test_moodle_layout_is_an_identifier_then_a_column_per_grade_item() -> None:
    """Moodle's CSV grade import (https://docs.moodle.org/en/Grade_import, and
    ``grade/import/csv/classes/load_data.php``): one line per student, a column mapped to a
    user field (``username``), each other column a grade item by its header; an empty cell
    is "no grade" and any other must be a number."""
    text = render_gradebook_moodle(_report())
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == [MOODLE_IDENTIFIER, "Echo", "Sort"] == ["Username", "Echo", "Sort"]
    assert rows[1:] == [["'=Bob", "65", ""], ["Ann", "80", ""], ["Eve", "", ""]]
    for row in rows[1:]:
        assert all(cell == "" or cell.isdigit() for cell in row[1:])


def test_time_ticks_fit_any_span() -> None:
    for span, step in [
        (3_000, 1_000),
        (120_000, 30_000),
        (3 * 3_600_000, 1_800_000),
        (15 * 86_400_000, 7 * 86_400_000),
        (120 * 86_400_000, 28 * 86_400_000),
    ]:
        assert tick_step(span) == step
        ticks = time_ticks(T0, T0 + span)
        assert 1 <= len(ticks) <= 7
        assert all(T0 <= ms <= T0 + span for ms, _label in ticks)
        assert len({label for _ms, label in ticks}) == len(ticks)  # labels tell ticks apart
    assert all(label.count(":") == 2 for _ms, label in time_ticks(T0, T0 + 3_000))


def test_the_feedback_timeline_spans_its_data_and_has_its_own_colours() -> None:
    from peer.report.charts import feedback_chart
    from peer.report.svg_charts import PALETTE, ROLE_COLORS

    chart = feedback_chart(_report())
    assert {c for c, _dashed, _label in chart.swatches()} == set(ROLE_COLORS.values())
    assert not set(ROLE_COLORS.values()) & set(PALETTE)
    assert all(c in chart.svg for c in ROLE_COLORS.values())
    assert not any(f'stroke="{c}"' in chart.svg for c in PALETTE)
    # Feedback within a few seconds: ticks to the second, not an hour-wide axis.
    x_labels = re.findall(r'text-anchor="middle">(\d\d:\d\d:\d\d)</text>', chart.svg)
    assert len(x_labels) >= 2
