"""Late penalties and rubrics on ``problem publish``, rubric points on ``feedback give``
(issue 20).

A rubric file is TOML (``RUBRIC_FORMAT``, for the README), checked here with a message that
names the file and what to fix, then again by the problem's body schema on every peer.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from peer.errors import UsageError, ValidationError
from peer.identity import Membership
from peer.log import MAX_RUBRIC_BYTES, check_rubric_points, combined_score, parse_rubric
from storage import Store
from storage.queries import (
    newest_revision,
    problem_terms,
    staff_tests_score,
    submission_ref,
)

RUBRIC_FORMAT = """\
A rubric file is TOML:

    tests = 70                 # points the hidden tests' score is worth (0: no tests)

    [[criterion]]
    name = "style"             # letters, digits, _ . - (at most 32)
    points = 20                # the most this criterion gives (1 to 1000)
    description = "Readable names, no dead code"

    [[criterion]]
    name = "explanation"
    points = 10

The final score (of 100) is the tests' score scaled to `tests` points, plus the points given
per criterion, over all the points (here 100): a program passing 80% of the tests with 15 for
style and 10 for explanation scores 56 + 15 + 10 = 81.
"""


# ---- problem publish ----------------------------------------------------------------------


def _percent(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value} is not from 0 to 100")
    return value


def add_publish_args(publish: argparse.ArgumentParser) -> None:
    """``--late-penalty``, ``--late-cap`` and ``--rubric`` on ``problem publish``."""
    publish.add_argument(
        "--late-penalty",
        type=_percent,
        metavar="PCT_PER_DAY",
        help="points (of 100) taken off per started day late",
    )
    publish.add_argument(
        "--late-cap", type=_percent, metavar="PCT", help="the most a late penalty takes off"
    )
    publish.add_argument("--rubric", type=Path, metavar="FILE", help="a rubric file (TOML)")


def publish_body(args: argparse.Namespace) -> dict[str, Any]:
    """The problem body's fields these flags give (none when not given)."""
    body: dict[str, Any] = {}
    if args.late_cap is not None and args.late_penalty is None:
        raise UsageError("--late-cap needs --late-penalty")
    if args.late_penalty is not None:
        body["late_penalty"] = args.late_penalty
    if args.late_cap is not None:
        body["late_cap"] = args.late_cap
    if args.rubric is not None:
        body["rubric"] = read_rubric(args.rubric)
    return body


def read_rubric(path: Path) -> dict[str, Any]:
    """A rubric file as the problem body carries it; UsageError naming the file and fix (the
    reasons are ``peer.log.parse_rubric``'s, which the browser's publish form gives too)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read --rubric {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_RUBRIC_BYTES:
        raise UsageError(f"--rubric {path} is {len(data)} bytes; the limit is 64 KiB")
    try:
        return parse_rubric(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"--rubric {path} is not UTF-8 text") from None
    except ValidationError as exc:
        raise UsageError(f"--rubric {path}: {exc}") from None


# ---- feedback give --rubric -----------------------------------------------------------------


def _criterion_points(text: str) -> tuple[str, int]:
    name, eq, points = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not CRITERION=POINTS")
    try:
        return name.strip(), int(points)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: POINTS must be a whole number") from None


def add_rubric_arg(give: argparse.ArgumentParser) -> None:
    give.add_argument(
        "--rubric",
        type=_criterion_points,
        nargs="+",
        metavar="CRITERION=POINTS",
        help="points per rubric criterion (the instructor or a TA)",
    )


def rubric_body(
    store: Store, me: Membership, submission_id: bytes, given: list[tuple[str, int]] | None
) -> dict[str, Any]:
    """The feedback fields ``--rubric`` adds: the points, the tests' score they combine
    with (the latest instructor-weight one on this submission), and the combined score."""
    if not given:
        return {}
    if not me.is_staff:
        raise UsageError("rubric points are given by the instructor or a TA")
    ref = submission_ref(store, submission_id)
    if ref is None:
        raise UsageError("this peer does not hold that submission")
    problem = newest_revision(store, ref.problem, me.klass.instructor)
    if problem is None:
        raise UsageError("this peer does not hold that submission's problem")
    rubric = problem_terms(store)[problem.root].rubric
    if rubric is None:
        raise UsageError(f"{problem.title!r} has no rubric (problem publish --rubric FILE)")
    points = dict(given)
    if len(points) != len(given):
        raise UsageError("a criterion is given points twice")
    try:
        check_rubric_points(rubric, points)
    except ValidationError as exc:
        raise UsageError(str(exc)) from None
    tests_score = staff_tests_score(store, me.klass.instructor, submission_id)
    return {
        "rubric": points,
        "tests_score": tests_score if tests_score is not None else 0,
        "score": combined_score(rubric, tests_score, points),
    }
