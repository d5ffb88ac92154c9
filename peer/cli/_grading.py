"""The instructor's commands ``grade`` and ``queue``, and the student's dry run ``check``.

``grade`` runs students' solutions against hidden tests that never leave the instructor's
computer, always inside the grading engine's sandbox (it refuses to run anything without
one), and publishes the outcome as instructor feedback: verdict, score, and a comment naming
the failed tests only. ``--watch`` then keeps grading what arrives, as its own process beside
``peerclass run`` on the same data dir.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from peer.cli._curriculum import (
    problem_thread,
    read_solution,
    submission_json,
    when_text,
    with_peer,
)
from peer.cli._output import print_json, print_table
from peer.cli._selfcheck import add_solution_args, choose_language, run_self_check, self_check_lines
from peer.errors import UsageError
from peer.grading import Grader, latest_ids, load_test_folder, sandbox_available
from peer.identity import Membership, short_id
from peer.log import decode_event
from storage import Store
from storage.queries import list_submissions, review_queue

#: How often ``grade --watch`` looks for new submissions: one indexed ``max(local_id)`` read
#: of the local store, which costs microseconds (it never touches the network).
WATCH_INTERVAL = 0.5


def add_commands(sub: Any) -> None:
    """Register ``grade``, ``check`` and ``queue`` on the top-level parser."""
    grade = sub.add_parser(
        "grade", help="grade submissions against hidden tests in a sandbox (the instructor)"
    )
    grade.add_argument("problem", metavar="PROBLEM_ID")
    grade.add_argument(
        "--tests", type=Path, required=True, metavar="DIR", help="the folder of hidden tests"
    )
    grade.add_argument(
        "--all",
        action="store_true",
        help="every submission without an instructor verdict (default: each student's latest)",
    )
    grade.add_argument(
        "--watch", action="store_true", help="then grade new submissions as they arrive"
    )
    grade.add_argument(
        "--regrade",
        action="store_true",
        help="grade again every submission whose verdict came from other tests (say, after "
        "fixing a test), and say which verdicts changed",
    )
    grade.set_defaults(handler=with_peer(cmd_grade))
    check = sub.add_parser("check", help="self-check a solution on the examples; records nothing")
    add_solution_args(check)
    check.set_defaults(handler=with_peer(cmd_check))
    queue = sub.add_parser("queue", help="submissions waiting for an instructor verdict")
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=with_peer(cmd_queue))


# ---- check ------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, me: Membership, store: Store) -> int:
    """The self-check ``submit`` runs, and nothing else: exit 0 only when every example passed."""
    problem = problem_thread(store, args.problem, me.klass.instructor)
    solution = read_solution(args.file)
    language = choose_language(problem, args.language, args.file)
    check = run_self_check(problem, language, solution)
    for line in self_check_lines(problem, check):
        print(line)
    print("nothing was recorded ('peerclass submit' records an attempt)")
    return 0 if check.all_passed else 1


# ---- queue ------------------------------------------------------------------------------------


def cmd_queue(args: argparse.Namespace, me: Membership, store: Store) -> int:
    waiting = review_queue(store, me.klass.instructor)
    latest = latest_ids(list_submissions(store))
    if args.json:
        print_json(
            [
                submission_json(s) | {"problem_title": s.problem_title, "latest": s.id in latest}
                for s in waiting
            ]
        )
    elif not waiting:
        print("nothing is waiting for an instructor verdict")
    else:
        print_table(
            ["ID", "PROBLEM", "AUTHOR", "ATTEMPT", "LANGUAGE", "SUBMITTED", "LATE"],
            [
                [
                    s.id.hex()[:8],
                    s.problem_title,
                    f"{s.author_name or '?'} ({short_id(s.author)})",
                    str(s.attempt) + ("" if s.id in latest else " (superseded)"),
                    s.language or "sealed",
                    when_text(s),  # with the witnessed time where it differs (issue 18)
                    "late" if s.late else "-",
                ]
                for s in waiting
            ],
        )
    return 0


# ---- grade ------------------------------------------------------------------------------------


def cmd_grade(args: argparse.Namespace, me: Membership, store: Store) -> int:
    if not me.is_staff:
        raise UsageError(
            "only the class's instructors and TAs grade (feedback from this peer would be a "
            "peer review)"
        )
    suite = load_test_folder(args.tests)
    problem = problem_thread(store, args.problem, me.klass.instructor)
    reason = sandbox_available()  # PEERCLASS_SANDBOX=off: as if there were none
    if reason is not None:
        raise UsageError(
            f"cannot grade: {reason}; hidden tests only ever run in the sandbox, so nothing ran"
        )
    grader = Grader(me, problem, suite)
    cursor = store.max_local_id()  # before choosing: --watch then misses nothing
    if args.regrade:
        return _regrade(grader, store)
    chosen = grader.choose(store, "ungraded" if args.all else "latest")
    if not args.watch:
        for submission in chosen:
            print(grader.grade(store, submission), flush=True)
        print(f"graded {len(chosen)} submission(s) to {problem.title!r}")
        return 0
    with _stop_on_signals() as stop:
        for submission in chosen:
            if stop.requested:
                break
            print(grader.grade(store, submission), flush=True)
        _watch(grader, store, cursor, stop, {s.id for s in chosen})
    print("stopped watching", flush=True)
    return 0


def _regrade(grader: Grader, store: Store) -> int:
    """Grade again each submission whose latest instructor verdict (ours) recorded another
    test folder's hash (or none); say of each whether its verdict changed."""
    stale = grader.choose(store, "regrade")
    changed = 0
    for submission in stale:
        line = grader.grade(store, submission, regrade=True)
        changed += "unchanged" not in line
        print(line, flush=True)
    print(
        f"regraded {len(stale)} submission(s) to {grader.problem.title!r} whose verdict came "
        f"from other tests; {changed} verdict(s) changed"
    )
    return 0


@attrs.define
class _Stop:
    requested: bool = False


@contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """Ctrl-C or SIGTERM ends ``--watch`` between two submissions, never halfway through
    publishing one."""
    stop = _Stop()

    def request(_signum: int, _frame: FrameType | None) -> None:
        stop.requested = True

    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch(grader: Grader, store: Store, cursor: int, stop: _Stop, done: set[bytes]) -> None:
    """Grade each submission to the problem stored after ``cursor`` (and not in ``done``),
    as it arrives."""
    print(f"watching for new submissions to {grader.problem.title!r} (Ctrl-C stops)", flush=True)
    while not stop.requested:
        if store.max_local_id() <= cursor:
            time.sleep(WATCH_INTERVAL)
            continue
        refs = store.refs_after(cursor, 1000)
        cursor = refs[-1].local_id
        wanted = [r.local_id for r in refs if r.kind == "submission"]
        arrived = {decode_event(raw).id for raw in store.raws(wanted)} - done
        for submission in grader.submissions(store):
            if submission.id in arrived and not stop.requested:
                print(grader.grade(store, submission), flush=True)
                done.add(submission.id)
