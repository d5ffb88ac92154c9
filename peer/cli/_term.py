"""``peerclass extend`` (issue 20): one student's own due date on a problem.

The extension is an instructor-signed event sealed to the student and the instructors; every
peer that can read it recomputes that student's lateness and penalties from it, as it does
when the problem's due date moves (``storage.queries._term``).
"""

from __future__ import annotations

import argparse
from typing import Any

from peer.cli._core import resolve_peer
from peer.cli._curriculum import problem_thread, with_peer
from peer.cli._output import local_time, parse_iso_ms
from peer.errors import UsageError, ValidationError
from peer.identity import Membership, short_id
from storage import Store


def add_commands(sub: Any) -> None:
    """Register ``extend`` on the top-level parser."""
    extend = sub.add_parser(
        "extend", help="give one student their own due date on a problem (the instructor)"
    )
    extend.add_argument("problem", metavar="PROBLEM_ID")
    extend.add_argument("student", metavar="STUDENT")
    extend.add_argument(
        "--due", required=True, metavar="ISO8601", help="local time unless it names a zone"
    )
    extend.set_defaults(handler=with_peer(cmd_extend))


def cmd_extend(args: argparse.Namespace, me: Membership, store: Store) -> int:
    """Sign the extension, sealed to the student and the instructors; every peer that can
    read it recomputes lateness and penalties from it."""
    if not me.is_instructor:
        raise UsageError("only the class's instructor grants extensions")
    problem = problem_thread(store, args.problem, me.klass.instructor)
    student = resolve_peer(store, args.student)
    if student == me.klass.instructor:
        raise UsageError("the instructor has no due dates to extend")
    due = parse_iso_ms(args.due, "--due")
    if due <= 0:
        raise UsageError(f"--due {args.due!r} is before 1970")
    body = {"problem": problem.root, "student": student, "due": due}
    try:
        event = store.append(me.signing_key, "extension", body)
    except ValidationError as exc:
        raise UsageError(str(exc)) from None
    name = store.names().get(student) or short_id(student)
    print(f"{name} is now due {local_time(due)} on {problem.title!r}")
    print(event.id.hex())
    return 0
