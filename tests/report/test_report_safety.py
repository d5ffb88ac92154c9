"""Reports that are safe to open: the CSV in a spreadsheet (LibreOffice, headless) and the
Markdown in a viewer that renders HTML."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from peer.report import Report, Snapshot, build_report, render_csv, render_md
from tests.report.test_report_summary import (
    ALICE,
    BOB,
    PROBLEMS,
    TEACHER,
    TWO_SUM,
    class_request,
    fb,
    sub,
)

KOREAN = "김민준"
HOSTILE_COMMENTS = (
    "=1+1",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1,1)",
    "\tTAB",
    '<script>alert("x")</script> and <img src=x onerror=alert(1)>\n\n![pixel](http://evil.test/p.png)',
    "<iframe src=https://evil.test></iframe>\n<a href=javascript:alert(1)>click</a> **bold**",
)


def hostile_report() -> Report:
    snapshot = Snapshot(
        names={TEACHER: "Teacher", ALICE: KOREAN, BOB: '=HYPERLINK("http://evil.test")'},
        students=(ALICE, BOB),
        problems=PROBLEMS,
        submissions=(sub("k1", ALICE, TWO_SUM, 1, 0), sub("b1", BOB, TWO_SUM, 1, 5)),
        feedback=tuple(
            fb(f"f{i}", "k1", TEACHER if i % 2 else BOB, "accept", 80, 10 + i, comment)
            for i, comment in enumerate(HOSTILE_COMMENTS)
        ),
    )
    return build_report(snapshot, class_request())


def test_csv_cells_a_spreadsheet_would_evaluate_are_text() -> None:
    text = render_csv(hostile_report())
    assert text.startswith("\ufeff")
    for comment in HOSTILE_COMMENTS[:5]:
        assert f"'{comment}" in text  # OWASP: a leading apostrophe
    assert "'=HYPERLINK" in text and KOREAN in text


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_keeps_formulas_as_text_and_korean_names_intact(tmp_path: Path) -> None:
    csv_file = tmp_path / "report.csv"
    csv_file.write_text(render_csv(hostile_report()), encoding="utf-8", newline="")
    # The import setting the README names: comma, double quote, UTF-8 (76), from line 1.
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(csv_file),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "<f" not in sheet  # not one cell became a formula
    assert KOREAN in strings
    assert "=1+1" in strings and "@SUM(1,1)" in strings and "=HYPERLINK" in strings


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_markdown_rendered_with_html_enabled_has_no_live_tag_from_a_comment() -> None:
    html = MarkdownIt("commonmark", {"html": True}).render(render_md(hostile_report()))
    parser = _Tags()
    parser.feed(html)
    tags = {tag for tag, _ in parser.tags}
    assert not tags & {"script", "img", "iframe", "svg", "style", "object", "embed"}
    for _, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on")
            assert not (value or "").strip().lower().startswith("javascript:")
    # The comments are still there, as text, and their own Markdown still formats.
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<strong>bold</strong>" in html
