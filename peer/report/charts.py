"""What the html report's charts show, computed from the report (drawing is ``svg_charts``).

A student's report draws the peer and instructor scores as two lines in one chart per problem;
a class report draws a chart per problem and role (peer scores apart from the instructor's),
with one line per student who has a score there, in the same colour in every chart. Lines and
charts with no data are left out. Only the current version of each piece of feedback counts.
"""

from __future__ import annotations

import statistics

import attrs

from peer.log import hlc
from peer.report.model import ProblemHistory, Report, Role
from peer.report.svg_charts import ROLE_COLORS, Series, color, dash, score_chart, timeline_chart

FEEDBACK_TITLE = "Feedback received over time"
ROLE_LABELS: dict[Role, str] = {"peer": "peer reviewers", "instructor": "instructor"}


@attrs.frozen
class Chart:
    title: str
    svg: str
    legend: tuple[str, ...]  # series labels; the html draws it so it can wrap
    slots: tuple[int, ...] = ()  # each label's colour (default: its place in the legend)
    #: Colours of its own (the feedback timeline's roles), instead of the students' palette.
    colors: tuple[str, ...] = ()

    def colored_legend(self) -> list[tuple[int, str]]:
        slots = self.slots or tuple(range(len(self.legend)))
        return list(zip(slots, self.legend, strict=True))

    def swatches(self) -> list[tuple[str, bool, str]]:
        """(colour, dashed, label) of each legend entry, as the svg draws them."""
        if self.colors:
            return [(c, False, label) for c, label in zip(self.colors, self.legend, strict=True)]
        return [(color(i), bool(dash(i)), label) for i, label in self.colored_legend()]


ROLE_TITLES: dict[Role, str] = {"peer": "Peer scores", "instructor": "Instructor scores"}


def score_title(problem_title: str, role: Role | None = None) -> str:
    """A student's chart shows both roles (its legend names them); a class chart one role."""
    what = "Peer and instructor scores" if role is None else ROLE_TITLES[role]
    return f"{what} over attempts: {problem_title}"


def score_charts(report: Report) -> list[Chart]:
    """Charts for the problems somebody in the report has a score on, in the report's order."""
    charts = []
    for stats in report.problems:
        histories = [(s.student.label, s.status_of(stats.problem.id)) for s in report.students]
        attempted = [h for _label, h in histories if h is not None]
        if not attempted:
            continue
        top = max(a.number for h in attempted for a in h.attempts)
        if report.scope == "class":
            for role in ROLE_TITLES:
                series = [
                    _mean_series(label, h, (role,), slot)
                    for slot, (label, h) in enumerate(histories)
                ]
                charts += _chart(score_title(stats.problem.title, role), series, top)
        else:
            series = [
                _mean_series(label, attempted[0], (r,), slot)
                for slot, (r, label) in enumerate(ROLE_LABELS.items())
            ]
            charts += _chart(score_title(stats.problem.title), series, top)
    return charts


def _chart(title: str, series: list[Series], top: int) -> list[Chart]:
    """The chart of the series that have data (none at all: no chart)."""
    shown = [s for s in series if s.points]
    if not shown:
        return []
    svg = score_chart(title, shown, top)
    slots = tuple(s.slot or 0 for s in shown)
    return [Chart(title, svg, tuple(s.label for s in shown), slots)]


def _mean_series(
    label: str, history: ProblemHistory | None, roles: tuple[Role, ...], slot: int
) -> Series:
    points = []
    for attempt in history.attempts if history else ():
        scores = [
            t.current.score
            for t in attempt.feedback
            if t.current.score is not None and t.current.role in roles
        ]
        if scores:
            points.append((float(attempt.number), statistics.fmean(scores)))
    return Series(label, tuple(points), slot=slot)


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
        series.append(Series(label, points, step=True, color=ROLE_COLORS[role]))
    svg = timeline_chart(FEEDBACK_TITLE, series)
    colors = tuple(ROLE_COLORS[role] for role in ROLE_LABELS)
    return Chart(FEEDBACK_TITLE, svg, tuple(ROLE_LABELS.values()), colors=colors)
