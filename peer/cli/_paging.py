"""``--limit``, ``--before`` and ``--since`` for the listings of a long history (chat log,
submissions, feedback list): one page, read by the store a page at a time."""

from __future__ import annotations

import argparse
from typing import Any

from peer.cli._output import parse_iso_ms
from peer.log import hlc
from storage import Store
from storage.queries import Paging


def add_paging_args(parser: Any, what: str) -> None:
    parser.add_argument(
        "--limit", type=limit_arg, metavar="N", help=f"only the newest N {what} (N >= 1)"
    )
    parser.add_argument(
        "--before", metavar="ID", help=f"only {what} older than this one (to page back)"
    )
    parser.add_argument("--since", metavar="ISO8601", help=f"only {what} from this time on")


def limit_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1_000_000_000:
        raise argparse.ArgumentTypeError(f"{value} is out of range: give 1 or more")
    return value


def since_ts(text: str | None) -> int | None:
    """``--since`` as an HLC timestamp (the earliest of that millisecond)."""
    return None if text is None else hlc.from_ms(max(0, parse_iso_ms(text, "--since")))


def paging_of(args: argparse.Namespace, store: Store, kind: str) -> Paging:
    """The page the flags ask for; ``--before`` names an event of ``kind`` (a unique prefix)."""
    before = None if args.before is None else store.resolve_prefix(args.before, kind=kind)
    return Paging(limit=args.limit, before=before, since=since_ts(args.since))
