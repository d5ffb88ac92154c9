"""The html report: one self-contained page with tables and charts, for people to read."""

from __future__ import annotations

from peer.report._format import Format
from peer.report.render_html import render_html

FORMATS = (
    Format(
        "html",
        render_html,
        "text/html; charset=utf-8",
        ".html",
        order=10,
        summary="one page with tables and charts, to read or print",
    ),
)
