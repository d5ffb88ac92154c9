"""The report on deadlines and scores: due dates and late flags in html and json, times to the
second in the reader's zone (json stays UTC), and charts that keep peer and instructor scores
apart and leave out students with nothing to draw."""

from __future__ import annotations

import time
from collections.abc import Iterator

import attrs
import pytest

from peer.report import Request, Snapshot, build_report, render_html, to_json
from peer.report.charts import score_charts, score_title
from tests.report.test_report_summary import (
    ALICE,
    T0_MS,
    TWO_SUM,
    class_request,
    sample_report,
    sample_snapshot,
)

DUE_MS = T0_MS + 60 * 60_000  # an hour after the sample class began


def late_snapshot() -> Snapshot:
    """The sample with Two Sum due, and Alice's second attempt at it late."""
    snapshot = sample_snapshot()
    problems = tuple(
        attrs.evolve(p, due=DUE_MS) if p.id == TWO_SUM else p for p in snapshot.problems
    )
    submissions = tuple(
        attrs.evolve(s, late=True) if (s.student_id, s.attempt) == (ALICE, 2) else s
        for s in snapshot.submissions
    )
    return attrs.evolve(snapshot, problems=problems, submissions=submissions)


@pytest.fixture
def seoul(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Seoul")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_json_carries_due_dates_and_late_flags_in_utc() -> None:
    report = build_report(late_snapshot(), class_request())
    data = to_json(report)
    alice = data["students"][0]
    two_sum = next(p for p in alice["problems"] if p["problem_title"] == "Two Sum")
    assert two_sum["due"] == "2025-03-03T12:06:40.000Z"
    assert [a["late"] for a in two_sum["attempts"]] == [False, True]
    fizz = next(p for p in alice["problems"] if p["problem_title"] == "FizzBuzz")
    assert fizz["due"] is None
    stats = {p["title"]: p["due"] for p in data["problems"]}
    assert stats["Two Sum"] == "2025-03-03T12:06:40.000Z" and stats["FizzBuzz"] is None


def test_html_marks_late_attempts_and_shows_due_dates_in_the_local_zone(seoul: None) -> None:
    report = build_report(late_snapshot(), class_request())
    html = render_html(report, T0_MS)
    # One late attempt: its pill in the history, and on Alice's Two Sum in the overview.
    assert html.count('<span class="pill late">late</span>') == 2
    # 12:06:40 UTC is 21:06:40 in Seoul; machine-readable times stay UTC.
    assert '<time datetime="2025-03-03T12:06:40.000Z">2025-03-03 21:06:40 KST</time>' in html
    assert "Times are in KST (UTC+09:00)." in html


def test_class_charts_keep_peer_and_instructor_scores_apart() -> None:
    charts = {c.title: c for c in score_charts(sample_report())}
    assert list(charts) == [
        score_title("FizzBuzz", "peer"),
        score_title("Two Sum", "peer"),
        score_title("Two Sum", "instructor"),
    ]
    # Only the instructor scored Alice in her instructor chart; nobody else has a line there.
    assert charts[score_title("Two Sum", "instructor")].legend == ("Alice",)
    # Dave gave scores but got none: he has no line; colours stay each student's own.
    peer = charts[score_title("Two Sum", "peer")]
    assert peer.legend == ("Alice", "Bob")
    assert peer.colored_legend() == [(0, "Alice"), (1, "Bob")]
    assert charts[score_title("FizzBuzz", "peer")].colored_legend() == [(2, "Carol")]


def test_a_students_chart_names_the_roles_it_shows() -> None:
    request = Request(viewer_id=ALICE, viewer_role="student", scope="student")
    charts = score_charts(sample_report(request))
    assert [c.title for c in charts] == [score_title("Two Sum")]
    assert charts[0].legend == ("peer reviewers", "instructor")  # FizzBuzz: nobody scored it
