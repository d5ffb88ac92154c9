"""The report as one self-contained html page: inline CSS and SVG, no script, no requests.

Every piece of text from the store is escaped here, and comments go through
``safe_markdown``; a Content-Security-Policy that allows nothing but inline style backs that
up, so even a mistake could not load or run anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

from peer.log import hlc
from peer.report.charts import Chart, feedback_chart, score_charts
from peer.report.gradebook import GradeCell, build_gradebook
from peer.report.html_style import CSS
from peer.report.model import (
    Attempt,
    GivenFeedback,
    Person,
    ProblemHistory,
    Report,
    Status,
    StudentReport,
    Thread,
    Version,
)
from peer.report.safe_markdown import render_markdown
from peer.report.text import (
    STATUS_LABELS,
    duration,
    iso,
    number_text,
    short,
    title_of,
    when,
    zone_text,
)

_HEAD = (
    '<meta charset="utf-8">\n'
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'\">\n"
    '<meta http-equiv="x-dns-prefetch-control" content="off">\n'
    '<meta name="referrer" content="no-referrer">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
)


def render_html(report: Report, generated_at_ms: int) -> str:
    """The page; ``generated_at_ms`` appears in the footer only."""
    return "".join(_page(report, generated_at_ms))


def _page(report: Report, generated_at_ms: int) -> Iterator[str]:
    title = escape(title_of(report))
    yield f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{_HEAD}<title>{title}</title>\n'
    yield f"<style>{CSS}</style>\n</head>\n<body>\n"
    yield f'<header><h1>{title}</h1><p class="context">{_context(report)}</p></header>\n<main>\n'
    yield '<section id="summary"><h2>Summary</h2>\n'
    if report.scope == "class":
        yield from _class_table(report)
        yield from _gradebook_table(report)
        yield from _students_table(report)
    else:
        for student in report.students:
            yield from _cards(student)
    yield from _problem_table(report)
    yield "</section>\n"
    yield '<section id="charts"><h2>Charts</h2>\n<div class="charts">\n'
    for chart in [*score_charts(report), feedback_chart(report)]:
        yield _figure(chart)
    yield "</div>\n</section>\n"
    yield '<section id="history"><h2>Detailed history</h2>\n'
    for student in report.students:
        yield from _student(student, report.scope == "class")
    yield "</section>\n</main>\n"
    generated = when(hlc.from_ms(generated_at_ms))
    yield (
        f"<footer>Generated {escape(generated)} by peerclass from the store of "
        f"{_person(report.viewer)}. Times are in {escape(zone_text(generated_at_ms))}."
        "</footer>\n</body>\n</html>\n"
    )


def _person(p: Person) -> str:
    return f'{escape(p.label)} <span class="id">{short(p.id)}</span>'


def _time(ts: int) -> str:
    return f'<time datetime="{iso(ts)}">{escape(when(ts))}</time>'


LATE_PILL = '<span class="pill late">late</span>'


def _witnessed(a: Attempt) -> str:
    """When a witness first held it, where that differs from the claimed time (issue 18)."""
    return "" if a.attested is None else f'<span class="muted">witnessed {_time(a.attested)}</span>'


def _due(due_ms: int | None) -> str:
    if due_ms is None:
        return '<span class="muted">no due date</span>'
    return _time(hlc.from_ms(due_ms))


def _pill(status: Status) -> str:
    return f'<span class="pill {status}">{STATUS_LABELS[status]}</span>'


def _context(report: Report) -> str:
    parts = [f"For {_person(report.viewer)} ({escape(report.viewer_role)})"]
    if report.scope == "class":
        parts.append(f"{len(report.students)} students")
    if report.problem_filter is not None:
        parts.append(f"problem {short(report.problem_filter)} only")
    if report.since is not None:
        parts.append(f"attempts since {_time(report.since)}")
    return " · ".join(parts)


def _class_table(report: Report) -> Iterator[str]:
    yield "<h3>Class overview</h3>\n"
    if not report.problems or not report.students:
        yield '<p class="none">No problems or students yet.</p>\n'
        return
    yield '<div class="scroll"><table class="overview"><thead><tr><th>Student</th>'
    yield "".join(f"<th>{escape(p.problem.title)}</th>" for p in report.problems)
    yield "</tr></thead><tbody>\n"
    for s in report.students:
        cells = []
        for p in report.problems:
            history = s.status_of(p.problem.id)
            status: Status = history.status if history else "not_attempted"
            tries = f' <span class="muted">&times;{len(history.attempts)}</span>' if history else ""
            if history and history.attempts[-1].late:
                tries += f" {LATE_PILL}"
            cells.append(f"<td>{_pill(status)}{tries}</td>")
        yield f"<tr><td>{_person(s.student)}</td>{''.join(cells)}</tr>\n"
    yield "</tbody></table></div>\n"


def _gradebook_table(report: Report) -> Iterator[str]:
    """The gradebook (``--format gradebook``) as a table: final scores, penalties shown."""
    book = build_gradebook(report)
    yield "<h3>Gradebook</h3>\n"
    if not book.problems or not book.rows:
        yield '<p class="none">No official problems or students yet.</p>\n'
        return
    yield '<div class="scroll"><table class="gradebook"><thead><tr><th>Student</th>'
    yield "".join(f'<th class="num">{escape(p.title)}</th>' for p in book.problems)
    yield '<th class="num">Total</th></tr></thead><tbody>\n'
    for row in book.rows:
        cells = "".join(f'<td class="num">{_grade(c)}</td>' for c in row.cells)
        name = f'{escape(row.name)} <span class="id">{short(row.student_id)}</span>'
        yield f'<tr><td>{name}</td>{cells}<td class="num"><strong>{row.total}</strong></td></tr>\n'
    yield "</tbody></table></div>\n"


def _grade(cell: GradeCell) -> str:
    if cell.score is None:
        return '<span class="muted">-</span>'
    if not cell.penalty:
        return str(cell.score)
    why = f"{cell.raw} - {cell.penalty} ({cell.days_late} day(s) late)"
    return f'{cell.score} <span class="muted" title="{why}">(&minus;{cell.penalty})</span>'


def _students_table(report: Report) -> Iterator[str]:
    yield "<h3>Students</h3>\n"
    heads = ["Attempted", "Accepted", "Mean peer score", "Mean instructor score"]
    heads += ["Median time to feedback", "Feedback received", "Feedback given"]
    yield '<div class="scroll"><table><thead><tr><th>Student</th>'
    yield "".join(f'<th class="num">{h}</th>' for h in heads) + "</tr></thead><tbody>\n"
    for s in report.students:
        values = _summary_values(s)
        cells = "".join(f'<td class="num">{escape(v)}</td>' for _label, v in values)
        yield f"<tr><td>{_person(s.student)}</td>{cells}</tr>\n"
    yield "</tbody></table></div>\n"


def _summary_values(s: StudentReport) -> list[tuple[str, str]]:
    m = s.summary
    return [
        ("problems attempted", str(m.problems_attempted)),
        ("accepted", str(m.problems_accepted)),
        ("mean peer score", number_text(m.mean_peer_score)),
        ("mean instructor score", number_text(m.mean_instructor_score)),
        ("median time to feedback", duration(m.median_feedback_delay_ms)),
        ("feedback received", str(m.feedback_received)),
        ("feedback given", str(m.feedback_given)),
    ]


def _cards(s: StudentReport) -> Iterator[str]:
    yield '<div class="cards">\n'
    for label, value in _summary_values(s):
        yield (
            f'<div class="card"><div class="value">{escape(value)}</div>'
            f'<div class="label">{label}</div></div>\n'
        )
    yield "</div>\n"


def _problem_table(report: Report) -> Iterator[str]:
    yield "<h3>Problems</h3>\n"
    if not report.problems:
        yield '<p class="none">No problems yet.</p>\n'
        return
    yield (
        '<div class="scroll"><table><thead><tr><th>Problem</th><th>Kind</th><th>Due</th>'
        '<th class="num">Attempted</th><th class="num">Accepted</th>'
        '<th class="num">Median attempts</th></tr></thead><tbody>\n'
    )
    for p in report.problems:
        kind = "official" if p.problem.official else "practice"
        yield (
            f'<tr><td>{escape(p.problem.title)} <span class="id">{short(p.problem.id)}</span></td>'
            f"<td>{kind}</td><td>{_due(p.problem.due)}</td>"
            f'<td class="num">{p.attempted}</td><td class="num">{p.accepted}</td>'
            f'<td class="num">{number_text(p.median_attempts)}</td></tr>\n'
        )
    yield "</tbody></table></div>\n"


def _figure(chart: Chart) -> str:
    items = []
    for stroke, is_dashed, label in chart.swatches():
        style = f"background:{stroke};border-color:{stroke}"
        dashed = " dashed" if is_dashed else ""
        items.append(
            f'<li><span class="swatch{dashed}" style="{style}"></span>{escape(label)}</li>'
        )
    return f'<figure>{chart.svg}<ul class="legend">{"".join(items)}</ul></figure>\n'


def _student(s: StudentReport, with_summary: bool) -> Iterator[str]:
    yield f'<article class="student"><h3>{_person(s.student)}</h3>\n'
    if with_summary:
        yield from _cards(s)
    if not s.problems:
        yield '<p class="none">No attempts.</p>\n'
    for history in s.problems:
        yield from _problem(history)
    yield "<h4>Feedback given</h4>\n"
    if not s.given:
        yield '<p class="none">None.</p>\n'
    for given in s.given:
        yield from _given(given)
    yield "</article>\n"


def _problem(h: ProblemHistory) -> Iterator[str]:
    kind = "" if h.problem.official else ' <span class="muted">practice</span>'
    after = (
        f' <span class="muted">after {h.attempts_until_accepted} attempt(s)</span>'
        if h.attempts_until_accepted
        else ""
    )
    due = f'<p class="muted">Due {_due(h.problem.due)}</p>\n' if h.problem.due is not None else ""
    yield (
        f'<section class="problem"><h4>{escape(h.problem.title)} '
        f'<span class="id">{short(h.problem.id)}</span>{kind} {_pill(h.status)}{after}</h4>\n'
        f"{due}"
    )
    for attempt in h.attempts:
        yield from _attempt(attempt)
    yield "</section>\n"


def _attempt(a: Attempt) -> Iterator[str]:
    passed = "all" if a.checks_passed == a.checks_total else "some"
    checks = (
        f'<span class="checks {passed}">self-check {a.checks_passed}/{a.checks_total}</span>'
        if a.checks_total
        else '<span class="muted">no self-check</span>'
    )
    yield (
        f'<div class="attempt"><div class="attempt-head"><strong>Attempt {a.number}</strong>'
        f"{_time(a.ts)}{_witnessed(a)}{LATE_PILL if a.late else ''}"
        f"<span>{escape(a.language)}</span>{checks}"
        f'<span class="id">{short(a.submission_id)}</span></div>\n'
    )
    if not a.feedback:
        yield '<p class="none">No feedback yet.</p>\n'
    for thread in a.feedback:
        yield _thread(thread, _person(thread.current.reviewer))
    yield "</div>\n"


def _given(g: GivenFeedback) -> Iterator[str]:
    to = f"To {_person(g.to)} on {escape(g.problem.title)}, attempt {g.attempt}"
    yield f'<div class="attempt">{_thread(g.thread, to)}</div>\n'


def _thread(thread: Thread, who: str) -> str:
    v = thread.current
    parts = [
        f'<div class="feedback"><div class="fb-head"><strong>{who}</strong>',
        _verdict_line(v),
        "</div>",
        f'<div class="comment">{render_markdown(v.comment)}</div>',
    ]
    for old in reversed(thread.earlier):
        parts.append(
            f'<div class="earlier"><div class="earlier-head"><span>Earlier version</span>'
            f"{_verdict_line(old)}</div>"
            f'<div class="comment">{render_markdown(old.comment)}</div></div>'
        )
    parts.append("</div>")
    return "".join(parts)


def _verdict_line(v: Version) -> str:
    score = f'<span class="score">{v.score}</span>/100' if v.score is not None else "no score"
    return (
        f'<span class="pill role {v.role}">{v.role}</span>'
        f'<span class="pill {escape(v.verdict)}">{escape(v.verdict)}</span>'
        f"<span>{score}</span>{_time(v.ts)}"
    )
