"""The ``peerclass`` command line. Each command opens the data dir, does one job, and exits;
``run`` is the peer itself. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import platformdirs

from peer import commands_chat, commands_core, commands_curriculum, commands_report
from peer.errors import PeerclassError, UsageError

ENV_HOME = "PEERCLASS_HOME"
ENV_DISCOVERY_ADDR = "PEERCLASS_DISCOVERY_ADDR"
ENV_DISCOVERY_PORT = "PEERCLASS_DISCOVERY_PORT"

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (exit 2) rather than usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"peerclass: error: {message} (see '{self.prog} --help')\n")


def host_port(text: str) -> tuple[str, int]:
    """Parse HOST:PORT (IPv6 as [ADDR]:PORT)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), tcp_port(port, allow_zero=False)


def tcp_port(text: str, *, allow_zero: bool = True) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range")
    return port


def ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None


def default_data_dir() -> Path:
    home = os.environ.get(ENV_HOME)
    return Path(home) if home else Path(platformdirs.user_data_dir("peerclass"))


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


__all__ = ["ENV_DISCOVERY_ADDR", "ENV_DISCOVERY_PORT", "UsageError", "host_port", "ipv4", "main"]
