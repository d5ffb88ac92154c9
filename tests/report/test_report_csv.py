"""The csv report, parsed back with the csv module: exact columns, one row per (attempt,
feedback version), attempts nobody reviewed on a row of their own, RFC 4180 quoting."""

from __future__ import annotations

import csv
import io

from peer.report import build_report, render_csv
from peer.report.render_csv import COLUMNS
from tests.report.test_report_summary import (
    CSV_COMMENT,
    SUBMISSIONS,
    class_request,
    ident,
    sample_report,
    sample_snapshot,
    shuffled,
)

ISSUE_COLUMNS = (
    "student_id, student_name, problem_id, problem_title, attempt, submitted_at, checks_passed, "
    "checks_total, feedback_id, reviewer_id, reviewer_name, reviewer_role, verdict, score, "
    "comment, feedback_at, revision_of, late"
)


def parse(text: str) -> list[dict[str, str]]:
    """Read as a spreadsheet does: the byte order mark says UTF-8 and is not a character."""
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_header_is_exactly_the_issues_columns() -> None:
    text = render_csv(sample_report()).removeprefix("\ufeff")
    assert text.split("\r\n", 1)[0] == ISSUE_COLUMNS.replace(", ", ",")
    assert list(COLUMNS) == ISSUE_COLUMNS.split(", ")


def test_one_row_per_attempt_and_feedback_version() -> None:
    rows = parse(render_csv(sample_report()))
    # 10 feedback versions, plus 4 attempts nobody reviewed (Dave attempted nothing)
    assert len(rows) == 14
    bare = [r for r in rows if not r["feedback_id"]]
    assert {(r["student_name"], r["problem_title"], r["attempt"]) for r in bare} == {
        ("Alice", "FizzBuzz", "1"),
        ("Bob", 'Palindromes, "the easy ones"', "1"),
        ("Carol", "FizzBuzz", "2"),
        ("Carol", "Two Sum", "1"),
    }
    assert len(bare) == 4
    attempts_with_rows = {(r["student_id"], r["problem_id"], r["attempt"]) for r in rows}
    assert len(attempts_with_rows) == len(SUBMISSIONS)


def test_empty_cells_for_missing_values_and_numbers_as_numbers() -> None:
    rows = parse(render_csv(sample_report()))
    bare = next(r for r in rows if not r["feedback_id"])
    assert all(bare[c] == "" for c in COLUMNS[8:-1])
    assert {r["late"] for r in rows} == {"false"}  # the sample has no due dates
    unscored = next(r for r in rows if r["feedback_id"] == ident("alice-on-c1").hex())
    assert unscored["score"] == ""
    for row in rows:
        assert row["attempt"].isdigit() and row["checks_passed"].isdigit()
        assert row["score"] == "" or 0 <= int(row["score"]) <= 100
        assert row["submitted_at"].endswith("Z") and "T" in row["submitted_at"]


def test_each_revision_is_a_row_and_the_newer_names_the_older() -> None:
    rows = parse(render_csv(sample_report()))
    first, second = (
        r for r in rows if r["reviewer_name"] == "Bob" and r["student_name"] == "Alice"
    )
    assert (first["score"], second["score"]) == ("50", "55")
    assert first["revision_of"] == ""
    assert second["revision_of"] == first["feedback_id"]
    assert second["feedback_at"] > first["feedback_at"]


def test_rfc4180_quoting_round_trips_commas_quotes_and_newlines() -> None:
    text = render_csv(sample_report())
    assert '"Use a dict, ""seen""\nthen loop once."' in text
    assert '"Palindromes, ""the easy ones"""' in text
    assert text.endswith("\r\n")
    comments = {r["comment"] for r in parse(text)}
    assert CSV_COMMENT in comments


def test_same_store_any_order_gives_the_same_bytes() -> None:
    expected = render_csv(sample_report())
    for seed in range(3):
        assert (
            render_csv(build_report(shuffled(sample_snapshot(), seed), class_request())) == expected
        )
