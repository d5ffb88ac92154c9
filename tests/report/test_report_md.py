"""The Markdown report: readable as text, and structured as intended on a Markdown viewer
(comments stay inside their block quotes; names are text, not markup)."""

from __future__ import annotations

from markdown_it import MarkdownIt

from peer.report import Request, build_report, render_md
from peer.report.render_md import escape, inert_markdown
from tests.report.test_report_summary import (
    CAROL,
    SCRIPT_COMMENT,
    TEACHER,
    class_request,
    sample_report,
    sample_snapshot,
    shuffled,
)


def headings(text: str, tag: str) -> list[str]:
    """Top-level headings of ``tag`` (outside lists and quotes), as a viewer would show them."""
    tokens = MarkdownIt("commonmark").parse(text)
    return [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == tag and t.level == 0
    ]


def test_class_report_sections() -> None:
    text = render_md(sample_report())
    assert text.startswith("# Feedback history of the class\n")
    assert headings(text, "h2") == [
        "Class overview",
        "Problems",
        "Alice (e11d8149)",
        "Bob (87683da8)",
        "Carol (0ffac5d0)",
        r"Dave \<img src=x onerror=alert(1)\> (b12a0a02)",
    ]
    assert "| Alice (e11d8149) | awaiting feedback | - | accepted |" in text
    assert "- Mean peer score: 63.33" in text
    assert "#### Attempt 2 · 2025-03-03 12:36:40 UTC · python · checks 2/3" in text
    assert "_No feedback yet._" in text


def test_comments_are_quoted_verbatim_and_cannot_add_headings() -> None:
    text = render_md(sample_report())
    for line in inert_markdown(SCRIPT_COMMENT).splitlines():  # its tags shown as text
        assert f"  > {line}".rstrip() in text.splitlines()
    # "## Nice" in a comment stays inside its quote: no such heading in the document
    assert "Nice" not in headings(text, "h2")
    assert "  - earlier version: **revise**, score 50, 2025-03-03 11:36:40 UTC" in text


def test_names_and_titles_are_escaped_text() -> None:
    assert escape("a|b *c* <i>") == r"a\|b \*c\* \<i\>"
    assert escape("two\nlines") == "two lines"


def test_student_report_has_no_class_table() -> None:
    request = Request(
        viewer_id=TEACHER, viewer_role="instructor", scope="student", student_id=CAROL
    )
    text = render_md(sample_report(request))
    assert text.startswith("# Feedback history of Carol\n")
    assert "Class overview" not in text
    assert headings(text, "h2") == ["Problems", "Carol (0ffac5d0)"]


def test_same_store_any_order_gives_the_same_bytes() -> None:
    expected = render_md(sample_report())
    for seed in range(3):
        assert (
            render_md(build_report(shuffled(sample_snapshot(), seed), class_request())) == expected
        )
