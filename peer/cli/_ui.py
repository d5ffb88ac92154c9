"""``peerclass ui``: print a fresh one-time sign-in URL for the web UI of the peer running on
this data dir; ``--sign-out-all`` ends every browser session of this data dir."""

from __future__ import annotations

import argparse
from typing import Any

from peer.cli._core import open_peer, pid_alive
from peer.errors import UsageError


def add_commands(sub: Any) -> None:
    ui = sub.add_parser(
        "ui", help="print a one-time sign-in URL for the web UI of the peer running here"
    )
    ui.add_argument(
        "--sign-out-all",
        action="store_true",
        help="sign out every browser (a new session secret; old sign-in URLs stop working)",
    )
    ui.set_defaults(handler=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    _, store = open_peer(args.data_dir)
    try:
        running = pid_alive(store.running_pid())
    finally:
        store.close()
    # here: every other command starts without the web UI
    from peer.web import read_url, rotate_secret

    if args.sign_out_all:
        rotate_secret(args.data_dir)
        print("signed out every browser of this data dir; sign in again with 'peerclass ui'")
        return 0
    if not running:
        raise UsageError(f"no peer is running on {args.data_dir}; start one with 'peerclass run'")
    url = read_url(args.data_dir)
    if url is None:
        raise UsageError(
            f"the peer running on {args.data_dir} serves no web UI (started with --no-ui?)"
        )
    print(url)
    return 0
