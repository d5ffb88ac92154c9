"""``peerclass report``: export the feedback history as html, md, csv or json.

It only reads the data dir, so it works with the peer stopped and with no network. csv, json
and md are byte-identical for the same store; html adds the time it was made, in its footer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from peer.cli._core import open_peer, resolve_peer
from peer.cli._output import parse_iso_ms
from peer.errors import UsageError
from peer.identity import Membership
from peer.log import hlc
from peer.report import FORMATS, Report, Request, build_report, format_named, gather
from storage import Store
from storage.queries import newest_revision


def add_commands(sub: Any) -> None:
    """Register this module's subcommands on the top-level parser."""
    report = sub.add_parser(
        "report", help="export the feedback history (html, md, csv, json) or the gradebook"
    )
    scope = report.add_mutually_exclusive_group()
    scope.add_argument(
        "--student", metavar="PEER_ID_OR_NAME", help="this student (default: yourself)"
    )
    scope.add_argument(
        "--class", dest="whole_class", action="store_true", help="every student of the class"
    )
    report.add_argument("--problem", metavar="PROBLEM_ID", help="only this problem")
    report.add_argument("--since", metavar="ISO8601", help="only attempts submitted since then")
    report.add_argument("--format", required=True, choices=[f.name for f in FORMATS])
    report.add_argument("-o", dest="output", type=Path, metavar="FILE", help="default: stdout")
    report.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    since = None if args.since is None else parse_since(args.since)
    membership, store = open_peer(args.data_dir)
    try:
        _may_read(args, membership, store)
        report = build_report(
            gather(store, membership.klass.instructor), _request(args, membership, store, since)
        )
    finally:
        store.close()
    text = render(report, args.format)
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        args.output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


def _may_read(args: argparse.Namespace, me: Membership, store: Store) -> None:
    """A student's peer holds only what that student may read (issue 10): refuse plainly
    rather than export a report that looks whole and is not."""
    if me.is_staff:  # a TA reads what the instructor reads (issue 20)
        return
    if args.whole_class:
        raise UsageError(
            "report --class is for the instructor: classmates' solutions, verdicts and scores "
            "are sealed to them and the instructor, so this peer cannot read them"
        )
    if args.student is not None and resolve_peer(store, args.student) != me.peer_id:
        raise UsageError(
            "a student's report covers only themselves: classmates' work is sealed to them and "
            "the instructor"
        )


def _request(args: argparse.Namespace, me: Membership, store: Store, since: int | None) -> Request:
    problem = None
    if args.problem is not None:
        found = newest_revision(
            store, store.resolve_prefix(args.problem, kind="problem"), me.klass.instructor
        )
        assert found is not None  # resolve_prefix found it
        problem = found.root
    return Request(
        viewer_id=me.peer_id,
        viewer_role="instructor" if me.is_staff else "student",
        scope="class" if args.whole_class else "student",
        student_id=None if args.student is None else resolve_peer(store, args.student),
        problem_id=problem,
        since=since,
    )


def parse_since(text: str) -> int:
    """``--since`` as an HLC timestamp."""
    return hlc.from_ms(max(0, parse_iso_ms(text, "--since")))


def render(report: Report, fmt: str) -> str:
    """``report`` as the format named ``fmt``, looked up in ``peer.report``'s table."""
    return format_named(fmt).render(report, hlc.wall_ms())
