"""The ``peerclass`` command line. Each command opens the data dir, does one job, and exits;
``run`` is the peer itself. Errors are one line on stderr and a non-zero exit: an expected
condition (bad input, a full, read-only or missing data dir) says what is wrong and what to do;
an unexpected one leaves its traceback in the data dir's log file and says where."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from peer.cli import _chat as commands_chat
from peer.cli import _continuity as commands_continuity
from peer.cli import _core as commands_core
from peer.cli import _curriculum as commands_curriculum
from peer.cli import _doctor as commands_doctor
from peer.cli import _grading as commands_grading
from peer.cli import _report as commands_report
from peer.cli import _roster as commands_roster
from peer.cli import _settings as commands_settings
from peer.cli import _similarity as commands_similarity
from peer.cli import _term as commands_term
from peer.cli import _ui as commands_ui
from peer.cli._args import ENV_HOME, default_data_dir
from peer.cli._logging import close_logging, record_internal_error, setup_logging
from peer.errors import PeerclassError
from peer.identity import has_identity
from storage import as_storage_error

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
    commands_grading.add_commands(sub)
    commands_report.add_commands(sub)
    commands_ui.add_commands(sub)
    commands_roster.add_commands(sub)
    commands_continuity.add_commands(sub)
    commands_settings.add_commands(sub)
    commands_term.add_commands(sub)
    commands_similarity.add_commands(sub)
    commands_doctor.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    handler: Handler = args.handler
    try:
        # `run` logs to a file in its data dir; a dir never initialised gets no file (the
        # command itself says what to do).
        logs = setup_logging(
            args.command,
            args.data_dir,
            file_log=args.command == "run" and has_identity(args.data_dir),
        )
        args.log_tasks = logs.tasks
        return handler(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        expected = expected_error(exc, args.data_dir)
        if expected is not None:
            print(f"peerclass: error: {expected}", file=sys.stderr)
            return 1
        where = record_internal_error(exc, args.data_dir, sys.argv[1:] if argv is None else argv)
        if where is None:
            raise
        print(f"peerclass: internal error, details in {where}", file=sys.stderr)
        return 1
    finally:
        close_logging()


def expected_error(exc: BaseException, data_dir: Path) -> str | None:
    """The one-line message for a condition a person can fix, or None for a bug.

    Errors out of the running peer's nursery come grouped: a group is expected when all its
    errors are (its first one is told)."""
    if isinstance(exc, BaseExceptionGroup):
        messages = [expected_error(inner, data_dir) for inner in exc.exceptions]
        known = [m for m in messages if m is not None]
        return known[0] if known and len(known) == len(messages) else None
    if isinstance(exc, PeerclassError):
        return str(exc)
    translated = as_storage_error(exc, data_dir if _about(exc, data_dir) else None)
    if translated is not None:
        return str(translated)
    if isinstance(exc, OSError):
        what = f"{exc.filename}: " if exc.filename else ""
        return f"{what}{exc.strerror or exc}"
    return None


def _about(exc: BaseException, data_dir: Path) -> bool:
    """Whether an error is about the data dir (an OSError may name another file, e.g. -o)."""
    filename = getattr(exc, "filename", None)
    if not filename:
        return True
    try:
        return Path(filename).resolve().is_relative_to(data_dir.resolve())
    except (OSError, ValueError):
        return False
