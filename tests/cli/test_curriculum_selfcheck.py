"""The self-check: one subprocess per example, a time limit, whitespace-tolerant comparison."""

from __future__ import annotations

from peer.cli._selfcheck import normalise, run_checks
from peer.log._curriculum import Example

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def test_normalise_trims_trailing_whitespace_per_line_and_at_the_end() -> None:
    assert normalise("1  \n2\t\r\n\n\n") == "1\n2"
    assert normalise("  lead kept") == "  lead kept"


def test_passing_and_failing_examples_each_get_a_result() -> None:
    examples = [Example("2 3\n", "5\n"), Example("10 -4", "6   \n\n"), Example("1 1\n", "3\n")]
    results = run_checks(ADD, examples)
    assert [r.passed for r in results] == [True, True, False]
    assert results[0].detail == ""
    assert "-3" in results[2].detail and "+2" in results[2].detail


def test_an_error_reports_the_exit_status_and_the_end_of_the_traceback() -> None:
    [result] = run_checks("raise ValueError('boom')\n", [Example("", "")])
    assert not result.passed
    assert result.detail.startswith("exited with status 1")
    assert "ValueError: boom" in result.detail


def test_a_solution_that_runs_too_long_is_stopped_at_the_time_limit() -> None:
    [result] = run_checks("while True:\n    pass\n", [Example("", "")], time_limit=0.5)
    assert not result.passed
    assert "time limit" in result.detail


def test_output_details_are_kept_printable_and_short() -> None:
    [result] = run_checks("print('\\x1b[31m' + 'x' * 5000)\n", [Example("", "y")])
    assert not result.passed
    assert "\x1b" not in result.detail
    assert len(result.detail) <= 2000


def test_no_examples_means_nothing_is_run() -> None:
    assert run_checks("this is not python", []) == []
