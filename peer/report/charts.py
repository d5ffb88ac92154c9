"""What the html report's charts show, computed from the report (drawing is ``svg_charts``).

A student's report draws the peer and instructor scores as two lines; a class report draws
one line per student (every reviewer's score counts), in the same colour in every chart.
Only the current version of each piece of feedback counts.
"""

from __future__ import annotations

import statistics

import attrs

from peer.log import hlc
from peer.report.model import ProblemHistory, Report, Role
from peer.report.svg_charts import Series, score_chart, timeline_chart

FEEDBACK_TITLE = "Feedback received over time"
ROLE_LABELS: dict[Role, str] = {"peer": "peer reviewers", "instructor": "instructor"}


@attrs.frozen
class Chart:
    title: str
    svg: str
    legend: tuple[str, ...]  # series labels in colour order; the html draws it so it can wrap


def score_title(problem_title: str) -> str:
    return f"Score over attempts: {problem_title}"


def score_charts(report: Report) -> list[Chart]:
    """One chart per problem somebody in the report attempted, in the report's order."""
    charts = []
    for stats in report.problems:
        histories = [(s.student.label, s.status_of(stats.problem.id)) for s in report.students]
        attempted = [h for _label, h in histories if h is not None]
        if not attempted:
            continue
        if report.scope == "class":
            roles: tuple[Role, ...] = ("peer", "instructor")
            series = [_mean_series(label, h, roles) for label, h in histories]
        else:
            series = [_mean_series(label, attempted[0], (r,)) for r, label in ROLE_LABELS.items()]
        top = max(a.number for h in attempted for a in h.attempts)
        title = score_title(stats.problem.title)
        legend = tuple(s.label for s in series)
        charts.append(Chart(title, score_chart(title, series, top), legend))
    return charts


def _mean_series(label: str, history: ProblemHistory | None, roles: tuple[Role, ...]) -> Series:
    points = []
    for attempt in history.attempts if history else ():
        scores = [
            t.current.score
            for t in attempt.feedback
            if t.current.score is not None and t.current.role in roles
        ]
        if scores:
            points.append((float(attempt.number), statistics.fmean(scores)))
    return Series(label, tuple(points))


def feedback_chart(report: Report) -> Chart:
    """Cumulative feedback received by the report's students, one step line per role."""
    firsts = [
        (t.current.role, hlc.to_ms(t.versions[0].ts))
        for s in report.students
        for h in s.problems
        for a in h.attempts
        for t in a.feedback
    ]
    series = []
    for role, label in ROLE_LABELS.items():
        times = sorted(ms for r, ms in firsts if r == role)
        points = tuple((float(ms), float(n)) for n, ms in enumerate(times, start=1))
        series.append(Series(label, points, step=True))
    svg = timeline_chart(FEEDBACK_TITLE, series)
    return Chart(FEEDBACK_TITLE, svg, tuple(ROLE_LABELS.values()))
