"""The ``peerclass`` command line. Each command opens the data dir, does one job, and exits;
``run`` is the peer itself. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from peer.cli import _chat as commands_chat
from peer.cli import _core as commands_core
from peer.cli import _curriculum as commands_curriculum
from peer.cli import _report as commands_report
from peer.cli._args import ENV_HOME, default_data_dir
from peer.errors import PeerclassError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (exit 2) rather than usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"peerclass: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="peerclass", description="A peer-to-peer classroom.")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"this peer's data directory (default: ${ENV_HOME} or the user data dir)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands_core.add_commands(sub)
    commands_chat.add_commands(sub)
    commands_curriculum.add_commands(sub)
    commands_report.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.INFO if args.command in ("run", "demo") else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except PeerclassError as exc:
        print(f"peerclass: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
