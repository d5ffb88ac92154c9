"""The CSV report: one row per piece of feedback, for a spreadsheet."""

from __future__ import annotations

from peer.report._format import Format
from peer.report.model import Report
from peer.report.render_csv import render_csv


def _render(report: Report, _generated_at_ms: int) -> str:
    return render_csv(report)


FORMATS = (
    Format(
        "csv",
        _render,
        "text/csv; charset=utf-8",
        ".csv",
        order=30,
        summary="one row per attempt and feedback, for a spreadsheet",
    ),
)
