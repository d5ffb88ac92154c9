"""Deadlines end to end (a due date in the past is refused; late work is marked late in the
lists, ``progress`` and the report, by the author's clock with the HLC's skew granted; the
late policy), and how times and tables read for people: local time with the zone named,
wide characters aligned. JSON and CSV stay UTC."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.cli._output import display_width, print_table
from peer.log import hlc, is_late
from peer.log._curriculum import LATE_GRACE_MS
from tests.cli.test_curriculum_cli import event_count, one_line_error, share, write
from tests.helpers import make_class, pc, pc_ok

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
HOUR_MS = 3_600_000


@pytest.fixture
def seoul(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process in Korea's time zone (UTC+9, no daylight saving), then back."""
    monkeypatch.setenv("TZ", "Asia/Seoul")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def iso_in(hours: float) -> str:
    """An ISO 8601 UTC time ``hours`` from now."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return moment.isoformat(timespec="seconds")


def publish(teacher: Path, files: Path, title: str, *extra: str) -> str:
    statement = write(files / "s.md", "Add two numbers.")
    example = (write(files / "in", "2 3\n"), write(files / "out", "5\n"))
    argv = ["problem", "publish", "--title", title, "--statement-file", statement]
    return pc_ok(teacher, *argv, "--example", *example, *extra).out.strip()


def test_a_due_date_in_the_past_needs_allow_past(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 0)
    files = tmp_path / "files"
    files.mkdir()
    before = event_count(dirs.instructor)
    statement = write(files / "s.md", "x")
    refused = pc(
        dirs.instructor, "problem", "publish", "--title", "Old", "--statement-file", statement,
        "--due", "2020-01-01T00:00:00Z",
    )  # fmt: skip
    one_line_error(refused)
    assert "is in the past (2020-01-01 00:00:00 UTC); give --allow-past" in refused.err
    assert event_count(dirs.instructor) == before
    publish(dirs.instructor, files, "Old", "--due", "2020-01-01T00:00:00Z", "--allow-past")
    assert event_count(dirs.instructor) == before + 1


def test_the_grace_is_the_clock_skew_the_hlc_allows() -> None:
    due = 1_800_000_000_000
    assert LATE_GRACE_MS == hlc.MAX_DRIFT_MS
    on_the_edge = hlc.from_ms(due + LATE_GRACE_MS) + 0xFFFF  # last logical tick of that ms
    assert not is_late(on_the_edge, due, "mark")
    assert is_late(hlc.from_ms(due + LATE_GRACE_MS + 1), due, "mark")
    assert is_late(hlc.from_ms(due + LATE_GRACE_MS + 1), due, "refuse-grade")
    assert not is_late(hlc.from_ms(due + 10 * LATE_GRACE_MS), due, "accept")
    assert not is_late(hlc.from_ms(due + 10 * LATE_GRACE_MS), None, "mark")


def test_late_work_is_marked_in_lists_progress_and_the_report(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 1, ["Teacher", "Alice"])
    teacher, alice = dirs.instructor, dirs.students[0]
    files = tmp_path / "files"
    files.mkdir()
    overdue = publish(teacher, files, "Overdue", "--due", iso_in(-3), "--allow-past")
    open_ = publish(teacher, files, "Open", "--due", iso_in(48))
    forgiving = publish(
        teacher, files, "Forgiving", "--due", iso_in(-3), "--allow-past", "--late-policy", "accept"
    )
    share(teacher, alice)
    solution = write(files / "add.py", ADD)
    late = pc_ok(alice, "submit", overdue[:8], solution).out
    assert "recorded attempt 1, late: 'Overdue' was due" in late
    assert "recorded attempt 1\n" in pc_ok(alice, "submit", open_[:8], solution).out
    assert "recorded attempt 1\n" in pc_ok(alice, "submit", forgiving[:8], solution).out
    share(alice, teacher)

    for viewer in (alice, teacher):
        listed = pc_ok(viewer, "submissions", "--json").json()
        assert {s["problem_id"]: s["late"] for s in listed} == {
            overdue: True,
            open_: False,
            forgiving: False,
        }
        lines = pc_ok(viewer, "submissions").out.splitlines()
        assert lines[0].split()[-1] == "LATE"
        assert [line.split()[-1] for line in lines[1:]] == ["late", "-", "-"]

    mine = pc_ok(alice, "progress", "--json").json()
    assert [(p["title"], p["late"]) for p in mine] == [
        ("Overdue", True),
        ("Open", False),
        ("Forgiving", False),
    ]
    assert mine[0]["due"].endswith("Z") and mine[2]["due"].endswith("Z")
    table = pc_ok(alice, "progress").out.splitlines()
    assert table[0].split()[-1] == "LATE" and table[1].split()[-1] == "late"
    assert "(passed)" in table[1] and "(passed)" not in table[2]
    whole_class = pc_ok(teacher, "progress").out.splitlines()
    assert whole_class[1].startswith("Alice") and "late" in whole_class[1]
    assert pc_ok(teacher, "progress", "--json").json()["students"][0]["problems"][0]["late"]

    report = pc_ok(teacher, "report", "--class", "--format", "json").json()
    attempts = {p["problem_title"]: p for p in report["students"][0]["problems"]}
    assert attempts["Overdue"]["attempts"][0]["late"] is True
    assert attempts["Open"]["attempts"][0]["late"] is False
    assert attempts["Overdue"]["due"].endswith("Z")
    html = pc_ok(teacher, "report", "--class", "--format", "html").out
    assert html.count('<span class="pill late">late</span>') == 2  # overview and history
    own = pc_ok(alice, "report", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(own.lstrip("\ufeff"))))
    assert {r["problem_title"]: r["late"] for r in rows} == {
        "Overdue": "true",
        "Open": "false",
        "Forgiving": "false",
    }
    assert all(r["submitted_at"].endswith("Z") for r in rows)
    markdown = pc_ok(alice, "report", "--format", "md").out
    assert markdown.count(" · **late**") == 1 and markdown.count("Due: ") == 3


def test_times_for_people_are_local_and_name_the_zone(tmp_path: Path, seoul: None) -> None:
    dirs = make_class(tmp_path, 0)
    files = tmp_path / "files"
    files.mkdir()
    next_year = dt.date.today().year + 1
    # A time without a zone is this computer's local time: 09:00 in Seoul is 00:00 UTC.
    problem = publish(dirs.instructor, files, "Sum", "--due", f"{next_year}-03-01T09:00")
    shown = pc_ok(dirs.instructor, "problem", "show", problem[:8]).out
    assert f"due: {next_year}-03-01 09:00:00 KST" in shown
    [listed] = pc_ok(dirs.instructor, "problem", "list", "--json").json()
    assert listed["due"] == f"{next_year}-03-01T00:00:00.000Z"
    assert f"{next_year}-03-01 09:00 KST" in pc_ok(dirs.instructor, "problem", "list").out


def test_tables_align_wide_characters(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(
        ["NAME", "ATTEMPT", "WHEN"],
        [["김지수", "1", "today"], ["Bob", "12", "now"], ["이민호 (0a1b2c3d)", "3", "-"]],
    )
    lines = capsys.readouterr().out.splitlines()
    assert display_width("김지수") == 6
    # Every column starts at the same terminal column on every line.
    starts = {_column_starts(line) for line in lines}
    assert len(starts) == 1, lines


def _column_starts(line: str) -> tuple[int, ...]:
    """The terminal columns where each cell after the first begins (cells hold no double
    space, and cells are apart by at least two)."""
    starts = []
    for index in range(2, len(line)):
        if line[index - 2 : index] == "  " and line[index] != " ":
            starts.append(display_width(line[:index]))
    return tuple(starts)
