"""The Markdown report: the history as text that diffs well and pastes into a forum."""

from __future__ import annotations

from peer.report._format import Format
from peer.report.model import Report
from peer.report.render_md import render_md


def _render(report: Report, _generated_at_ms: int) -> str:
    return render_md(report)


FORMATS = (
    Format(
        "md",
        _render,
        "text/markdown; charset=utf-8",
        ".md",
        order=20,
        summary="Markdown text",
    ),
)
