"""The report as Markdown: plain enough to read as text, structured for a Markdown viewer.

Names and titles are escaped (they are one line of text, not Markdown); comments are
Markdown already and are quoted as written, each line inside a block quote so nothing in
a comment can end the quote or change the document around it, except that raw HTML and
images are made text (:func:`inert_markdown`): a viewer that renders HTML shows a comment's
``<script>`` as the text it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from peer.report.model import Attempt, GivenFeedback, Report, StudentReport, Thread, Version
from peer.report.text import (
    STATUS_LABELS,
    due_text,
    duration,
    number_text,
    score_text,
    short,
    title_of,
    when,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def escape(text: str) -> str:
    """One line of plain text that Markdown shows as written (also inside table cells)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_md(report: Report) -> str:
    return "\n".join(_document(report)).rstrip("\n") + "\n"


def _document(report: Report) -> Iterator[str]:
    yield f"# {escape(title_of(report))}"
    yield ""
    yield _context(report)
    yield ""
    if report.scope == "class":
        yield from _class_table(report)
    yield from _problem_table(report)
    for student in report.students:
        yield from _student(student)


def _context(report: Report) -> str:
    viewer = report.viewer
    parts = [f"Generated for {escape(viewer.label)} ({report.viewer_role}, {short(viewer.id)})."]
    if report.problem_filter is not None:
        parts.append(f"Problem {short(report.problem_filter)} only.")
    if report.since is not None:
        parts.append(f"Attempts since {when(report.since)}.")
    return " ".join(parts)


def _table(headers: list[str], rows: list[list[str]]) -> Iterator[str]:
    yield "| " + " | ".join(headers) + " |"
    yield "|" + "|".join(" --- " for _ in headers) + "|"
    for row in rows:
        yield "| " + " | ".join(row) + " |"
    yield ""


def _class_table(report: Report) -> Iterator[str]:
    yield "## Class overview"
    yield ""
    if not report.problems or not report.students:
        yield "_No problems or students yet._"
        yield ""
        return
    headers = ["Student", *(escape(p.problem.title) for p in report.problems)]
    rows = []
    for s in report.students:
        cells = [f"{escape(s.student.label)} ({short(s.student.id)})"]
        for p in report.problems:
            history = s.status_of(p.problem.id)
            cells.append(STATUS_LABELS[history.status] if history else "-")
        rows.append(cells)
    yield from _table(headers, rows)


def _problem_table(report: Report) -> Iterator[str]:
    yield "## Problems"
    yield ""
    if not report.problems:
        yield "_No problems yet._"
        yield ""
        return
    rows = [
        [
            escape(p.problem.title),
            short(p.problem.id),
            "official" if p.problem.official else "practice",
            str(p.attempted),
            str(p.accepted),
            number_text(p.median_attempts),
        ]
        for p in report.problems
    ]
    headers = ["Problem", "Id", "Kind", "Attempted", "Accepted", "Median attempts"]
    yield from _table(headers, rows)


def _student(s: StudentReport) -> Iterator[str]:
    summary = s.summary
    yield f"## {escape(s.student.label)} ({short(s.student.id)})"
    yield ""
    accepted = [
        f"{escape(h.problem.title)} after {h.attempts_until_accepted}"
        for h in s.problems
        if h.attempts_until_accepted is not None
    ]
    yield f"- Problems attempted: {summary.problems_attempted}"
    yield f"- Accepted: {summary.problems_accepted}"
    if accepted:
        yield f"- Attempts until accepted: {'; '.join(accepted)}"
    yield f"- Mean peer score: {number_text(summary.mean_peer_score)}"
    yield f"- Mean instructor score: {number_text(summary.mean_instructor_score)}"
    yield f"- Median time to feedback: {duration(summary.median_feedback_delay_ms)}"
    yield f"- Feedback received: {summary.feedback_received}; given: {summary.feedback_given}"
    yield ""
    for h in s.problems:
        kind = "" if h.problem.official else ", practice"
        yield f"### {escape(h.problem.title)} ({short(h.problem.id)}{kind})"
        yield ""
        yield f"Status: **{STATUS_LABELS[h.status]}**" + (
            f" after {h.attempts_until_accepted} attempt(s)." if h.attempts_until_accepted else "."
        )
        if h.problem.due is not None:
            yield ""
            yield f"Due: {due_text(h.problem.due)}"
        yield ""
        for attempt in h.attempts:
            yield from _attempt(attempt)
    yield "### Feedback given"
    yield ""
    if not s.given:
        yield "_None._"
        yield ""
    for g in s.given:
        yield from _given(g)


def _attempt(a: Attempt) -> Iterator[str]:
    yield (
        f"#### Attempt {a.number} · {when(a.ts)} · {escape(a.language)}"
        f" · checks {a.checks_passed}/{a.checks_total}{' · **late**' if a.late else ''}"
        f"{'' if a.attested is None else f' · witnessed {when(a.attested)}'}"
    )
    yield ""
    if not a.feedback:
        yield "_No feedback yet._"
        yield ""
    for thread in a.feedback:
        v = thread.current
        yield from _thread(
            thread, f"**{escape(v.reviewer.label)}** ({v.role}, {short(v.reviewer.id)})"
        )


def _given(g: GivenFeedback) -> Iterator[str]:
    where = f"{escape(g.problem.title)}, attempt {g.attempt}"
    yield from _thread(g.thread, f"To **{escape(g.to.label)}** on {where}")


def _thread(thread: Thread, who: str) -> Iterator[str]:
    v = thread.current
    yield f"- {who}: {_verdict(v)}"
    yield ""
    yield from _quote(v.comment, "  ")
    for old in reversed(thread.earlier):
        yield f"  - earlier version: {_verdict(old)}"
        yield ""
        yield from _quote(old.comment, "    ")


def _verdict(v: Version) -> str:
    return f"**{v.verdict}**, {score_text(v.score)}, {when(v.ts)} (feedback {short(v.id)})"


#: Where raw HTML could start: ``<`` then a tag name, ``/``, ``!`` or ``?`` (CommonMark's
#: raw HTML and autolinks). A ``<`` before anything else (``a < b``, ``x<=5``) is plain text.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def inert_markdown(comment: str) -> str:
    """The comment's own Markdown, with every way to add live HTML taken out: a tag (or HTML
    comment, or autolink) is shown as text, and so is an image's Markdown, so a viewer
    with HTML enabled loads and runs nothing from it (issue 10)."""
    text = _TAG_START.sub("&lt;", comment)
    return text.replace("![", "!\\[")


def _quote(comment: str, indent: str) -> Iterator[str]:
    if not comment.strip():
        return
    for line in inert_markdown(comment.strip("\n")).splitlines():
        yield f"{indent}> {line}".rstrip()
    yield ""
