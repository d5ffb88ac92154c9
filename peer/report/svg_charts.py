"""Inline SVG line charts for the html report: no script, no fonts or images to fetch.

Each chart is a self-contained ``<svg>`` with a ``<title>`` (its accessible name) and a
heading drawn inside, so it reads the same on screen, printed, and to a screen reader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from html import escape

import attrs

WIDTH, HEIGHT = 560, 250
LEFT, RIGHT, TOP, BOTTOM = 44, 18, 40, 38
PALETTE = (
    "#2563eb",
    "#d97706",
    "#059669",
    "#db2777",
    "#7c3aed",
    "#0891b2",
    "#65a30d",
    "#dc2626",
)

#: The feedback timeline's own colours (peer reviewers, instructor): apart from the students'
#: palette, so a role is never mistaken for a student of the score charts beside it.
ROLE_COLORS = {"peer": "#0f766e", "instructor": "#9a3412"}

_Scale = Callable[[float], float]
_SECOND, _MINUTE, _HOUR, _DAY = 1_000, 60_000, 3_600_000, 86_400_000
#: Tick steps a reader counts in, smallest first: the first that gives at most
#: ``_MAX_TICKS`` ticks over the span is used, so seconds of data get second ticks and a
#: term gets week ticks.
_STEPS = (
    *(n * _SECOND for n in (1, 2, 5, 10, 15, 30)),
    *(n * _MINUTE for n in (1, 2, 5, 10, 15, 30)),
    *(n * _HOUR for n in (1, 2, 3, 6, 12)),
    *(n * _DAY for n in (1, 2, 7, 14, 28)),
)
_MAX_TICKS = 6
#: The narrowest axis drawn: one moment alone still gets a readable few seconds around it.
_MIN_SPAN = 10 * _SECOND


@attrs.frozen
class Series:
    label: str
    points: tuple[tuple[float, float], ...]  # (x, y), x ascending
    step: bool = False  # a cumulative count: hold each value until the next point
    #: Its colour's place in the palette (default: its place in the chart), so one student
    #: keeps one colour in every chart even where others are left out.
    slot: int | None = None
    color: str | None = None  # a colour of its own instead of the palette's


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def dash(index: int) -> str:
    """After the palette runs out, lines repeat colours with a dash so they stay apart."""
    return "" if index < len(PALETTE) else ' stroke-dasharray="6 3"'


def score_chart(title: str, series: Sequence[Series], max_attempt: int) -> str:
    """Score (0-100) over attempt numbers 1..max_attempt, one line per series."""
    xs = list(range(1, max(max_attempt, 1) + 1))
    x_span = (0.5, max(xs) + 0.5)
    x_ticks = [(float(x), str(x)) for x in _thin(xs)]
    y_ticks = [(float(y), str(y)) for y in (0, 25, 50, 75, 100)]
    return _chart(title, series, x_span, (0.0, 100.0), x_ticks, y_ticks, "attempt", "score")


def timeline_chart(title: str, series: Sequence[Series]) -> str:
    """Cumulative counts over time (x in epoch milliseconds), one step line per series.

    The axis spans the data (never a fixed hour around it), at least ``_MIN_SPAN``; its
    ticks fall on round local times at a step chosen by the span (``time_ticks``).
    """
    times = [x for s in series for x, _y in s.points]
    low, high = (min(times), max(times)) if times else (0.0, 0.0)
    if high - low < _MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - _MIN_SPAN / 2, middle + _MIN_SPAN / 2
    pad = (high - low) * 0.04
    top = max([y for s in series for _x, y in s.points] + [1.0])
    y_step = max(1, int(top + 3) // 4)
    y_ticks = [(float(y), str(y)) for y in range(0, int(top) + y_step, y_step)]
    x_ticks = time_ticks(low - pad, high + pad)
    y_span = (0.0, y_ticks[-1][0])
    zone = dt.datetime.fromtimestamp(low / 1000, tz=dt.UTC).astimezone().strftime("%Z")
    x_span = (low - pad, high + pad)
    return _chart(title, series, x_span, y_span, x_ticks, y_ticks, f"time ({zone})", "count")


def _thin(values: list[int], most: int = 10) -> list[int]:
    step = -(-len(values) // most)
    return values[::step]


def tick_step(span_ms: float) -> int:
    """The smallest round step giving at most ``_MAX_TICKS`` ticks over ``span_ms``."""
    for step in _STEPS:
        if span_ms / step <= _MAX_TICKS:
            return step
    return -(-int(span_ms) // (_MAX_TICKS * _STEPS[-1])) * _STEPS[-1]


def time_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Ticks at whole multiples of the step in local time, labelled as finely as it needs:
    seconds for steps under a minute, hours and minutes under a day, dates above."""
    step = tick_step(high - low)
    offset = _local_offset_ms(low)
    first = -(-(int(low) + offset) // step) * step - offset
    if step < _MINUTE:
        fmt = "%H:%M:%S"
    elif step < _DAY:
        fmt = "%H:%M" if high - low < _DAY else "%m-%d %H:%M"
    else:
        fmt = "%m-%d" if _year(low) == _year(high) else "%Y-%m-%d"
    ticks = []
    ms = first
    while ms <= high:
        moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone()
        ticks.append((float(ms), moment.strftime(fmt)))
        ms += step
    return ticks


def _local_offset_ms(ms: float) -> int:
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone()
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() * 1000)


def _year(ms: float) -> int:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone().year


def _chart(
    title: str,
    series: Sequence[Series],
    x_span: tuple[float, float],
    y_span: tuple[float, float],
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
    x_label: str,
    y_label: str,
) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x_span[0]) / ((x_span[1] - x_span[0]) or 1) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y - y_span[0]) / ((y_span[1] - y_span[0]) or 1) * plot_h

    name = escape(title)
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{name}">',
        f"<title>{name}</title>",
        f'<text class="chart-title" x="{LEFT}" y="22">{name}</text>',
    ]
    for y, label in y_ticks:
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{py(y):.1f}"'
            f' y2="{py(y):.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
    for x, label in x_ticks:
        out.append(
            f'<text class="tick" x="{px(x):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    out.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}"'
        f' y2="{TOP + plot_h}"/>'
    )
    if x_label:
        out.append(
            f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}"'
            f' text-anchor="middle">{escape(x_label)}</text>'
        )
    out.append(
        f'<text class="axis-label" x="12" y="{TOP + plot_h / 2:.1f}" text-anchor="middle"'
        f' transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    drawn = False
    for index, s in enumerate(series):
        if not s.points:
            continue
        drawn = True
        slot = index if s.slot is None else s.slot
        out.append(_line(s, slot, px, py, right_edge=LEFT + plot_w))
    if not drawn:
        out.append(
            f'<text class="empty" x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}"'
            ' text-anchor="middle">no data yet</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _line(s: Series, index: int, px: _Scale, py: _Scale, *, right_edge: float) -> str:
    coords: list[tuple[float, float]] = []
    for x, y in s.points:
        if s.step and coords:
            coords.append((px(x), coords[-1][1]))
        coords.append((px(x), py(y)))
    if s.step:
        coords.append((right_edge, coords[-1][1]))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    stroke = s.color or color(index)
    parts = [
        f'<g class="series"><title>{escape(s.label)}</title>',
        f'<polyline fill="none" stroke="{stroke}" stroke-width="2.2"{dash(index)}'
        f' points="{path}"/>',
    ]
    if not s.step:
        parts.extend(
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.6" fill="{stroke}"/>'
            for x, y in s.points
        )
    parts.append("</g>")
    return "".join(parts)
