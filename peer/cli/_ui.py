"""``peerclass ui``: print the web UI address of the peer running on this data dir."""

from __future__ import annotations

import argparse
from typing import Any

from peer.cli._core import _pid_alive, open_peer
from peer.errors import UsageError


def add_commands(sub: Any) -> None:
    ui = sub.add_parser("ui", help="print the web UI address of the peer running here")
    ui.set_defaults(handler=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    _, store = open_peer(args.data_dir)
    try:
        running = _pid_alive(store.running_pid())
    finally:
        store.close()
    if not running:
        raise UsageError(f"no peer is running on {args.data_dir}; start one with 'peerclass run'")
    from peer.web import read_url  # here: every other command starts without the web UI

    url = read_url(args.data_dir)
    if url is None:
        raise UsageError(
            f"the peer running on {args.data_dir} serves no web UI (started with --no-ui?)"
        )
    print(url)
    return 0
