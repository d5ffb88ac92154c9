"""The JSON report: the whole report as data, for scripts."""

from __future__ import annotations

from peer.report._format import Format
from peer.report.model import Report
from peer.report.render_json import render_json


def _render(report: Report, _generated_at_ms: int) -> str:
    return render_json(report)


FORMATS = (
    Format(
        "json",
        _render,
        "application/json",
        ".json",
        order=40,
        summary="the whole report as data, for scripts",
    ),
)
