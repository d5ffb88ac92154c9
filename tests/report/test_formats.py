"""The format table: every format once, each rendering through the same entry shape, and the
command line offering exactly what the table holds."""

from __future__ import annotations

import datetime as dt
import pkgutil

import pytest

import peer.report.formats
from peer.cli._main import build_parser
from peer.errors import UsageError
from peer.report import (
    FORMATS,
    Format,
    format_named,
    render_csv,
    render_gradebook_csv,
    render_gradebook_moodle,
    render_json,
    render_md,
)
from tests.report.test_report_summary import sample_report

NOW_MS = 1_767_268_800_000  # 2026-01-01T12:00:00Z


def test_the_table_holds_each_format_once_in_list_order() -> None:
    names = [f.name for f in FORMATS]
    assert names == ["html", "md", "csv", "json", "gradebook", "gradebook-moodle"]
    assert [f.order for f in FORMATS] == sorted(f.order for f in FORMATS)
    for fmt in FORMATS:
        assert fmt.suffix.startswith(".") and fmt.file_name.endswith(fmt.suffix)
        assert fmt.summary
    assert format_named("html").media_type == "text/html; charset=utf-8"
    assert format_named("json").media_type == "application/json"
    assert format_named("gradebook").file_name == "peerclass-gradebook.csv"
    assert format_named("csv").file_name == "peerclass-report.csv"


def test_every_module_of_the_formats_package_contributes() -> None:
    """A format module is found by being there: no list elsewhere to forget."""
    modules = {m.name for m in pkgutil.iter_modules(peer.report.formats.__path__)}
    owners = {f.render.__module__.rpartition(".")[2] for f in FORMATS}
    from_modules = {m for m in modules if m.startswith("as_")}
    assert from_modules == modules
    assert {"as_md", "as_csv", "as_json", "as_gradebook"} <= owners


def test_each_renderer_gives_what_its_module_renders() -> None:
    report = sample_report()
    expected = {
        "md": render_md(report),
        "csv": render_csv(report),
        "json": render_json(report),
        "gradebook": render_gradebook_csv(report),
        "gradebook-moodle": render_gradebook_moodle(report),
    }
    for name, text in expected.items():
        assert format_named(name).render(report, NOW_MS) == text, name
    html = format_named("html").render(report, NOW_MS)
    made_on = dt.datetime.fromtimestamp(NOW_MS / 1000).date().isoformat()  # local, as shown
    assert html.startswith("<!DOCTYPE html>") and made_on in html


def test_only_the_gradebooks_are_class_only() -> None:
    assert {f.name for f in FORMATS if f.class_only} == {"gradebook", "gradebook-moodle"}


def test_a_class_only_format_is_carried_by_the_same_entry_shape() -> None:
    """What a newcomer writes in a new module: a Format value, nothing else."""
    fmt = Format(
        "roster",
        lambda report, _now: f"{len(report.students)}\n",
        "text/plain; charset=utf-8",
        ".txt",
        order=90,
        summary="how many students",
        class_only=True,
        stem="peerclass-roster",
    )
    assert fmt.render(sample_report(), NOW_MS) == "4\n"
    assert fmt.file_name == "peerclass-roster.txt"


def test_an_unknown_format_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        format_named("pdf")
    message = str(caught.value)
    assert "\n" not in message and "'pdf'" in message
    assert all(f.name in message for f in FORMATS)


def test_the_command_line_offers_exactly_the_table() -> None:
    parser = build_parser()
    for fmt in FORMATS:
        args = parser.parse_args(["report", "--format", fmt.name])
        assert args.format == fmt.name
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--format", "pdf"])
