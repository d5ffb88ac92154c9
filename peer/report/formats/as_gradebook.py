"""The gradebook formats: student x official problem final scores, for a spreadsheet or an LMS.

Both show the whole class, so they are class-only (the browser offers them to the
instructor alone).
"""

from __future__ import annotations

from peer.report._format import Format
from peer.report.gradebook import render_gradebook_csv, render_gradebook_moodle
from peer.report.model import Report


def _plain(report: Report, _generated_at_ms: int) -> str:
    return render_gradebook_csv(report)


def _moodle(report: Report, _generated_at_ms: int) -> str:
    return render_gradebook_moodle(report)


FORMATS = (
    Format(
        "gradebook",
        _plain,
        "text/csv; charset=utf-8",
        ".csv",
        order=50,
        summary="final scores, student by problem, with totals",
        class_only=True,
        stem="peerclass-gradebook",
    ),
    Format(
        "gradebook-moodle",
        _moodle,
        "text/csv; charset=utf-8",
        ".csv",
        order=51,
        summary="the gradebook in the layout Moodle's CSV grade import takes",
        class_only=True,
        stem="peerclass-gradebook-moodle",
    ),
)
