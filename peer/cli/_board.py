"""``peerclass progress --live``: the class at a glance in the terminal, redrawn as it changes.

The running peer knows which students' peers are connected and how many events each lacks,
so the board is read from its web UI (``/instructor/board.json``, signed in with a fresh
one-time token through the data dir, as ``peerclass ui`` does). With no peer running it is
read from the store: online and last seen as the peer last recorded them, sync unknown.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from peer.cli._output import local_time
from peer.identity import Membership
from peer.log import hlc
from storage import Store
from storage.queries import board_json, class_board

#: How often the board is read again (one small local request, or one store read).
INTERVAL = 1.0
_CLEAR = "\x1b[H\x1b[2J"


def _from_peer(data_dir: Path) -> Any:
    """A reader of the running peer's board (None if no UI is served here)."""
    from peer.web import read_url  # only this command needs the web package

    url = read_url(data_dir)
    if url is None:
        return None
    base, _, token = url.partition("/#token=")
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    first = [f"{base}/instructor/board.json?token={token}"]

    def read() -> dict[str, Any] | None:
        target = first.pop() if first else f"{base}/instructor/board.json"
        try:
            with opener.open(target, timeout=5) as response:
                data: dict[str, Any] = json.loads(response.read())
                return data
        except (urllib.error.URLError, OSError, ValueError):
            return None

    return read


def board_lines(board: dict[str, Any]) -> list[str]:
    """The board as a table for people."""
    titles = [p["title"] for p in board["problems"]]
    rows = [["STUDENT", "PEER", "SYNC", *(t.upper() for t in titles)]]
    for s in board["students"]:
        if s["online"]:
            peer = "online"
        elif s["last_seen"]:
            peer = "seen " + local_time(s["last_seen"])
        else:
            peer = "never seen"
        behind = s["behind"]
        sync = "-" if behind is None else ("in sync" if behind == 0 else f"{behind} behind")
        cells = [c["state"] + (" (late)" if c["late"] else "") for c in s["cells"]]
        rows.append([s["name"], peer, sync, *cells])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


@contextlib.contextmanager
def _until_signalled() -> Iterator[list[bool]]:
    """A flag set by Ctrl-C or SIGTERM, so the board stops between two drawings (exit 0)."""
    stop = [False]

    def request(_signum: int, _frame: FrameType | None) -> None:
        stop[0] = True

    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def live_board(data_dir: Path, me: Membership, store: Store) -> int:
    """Redraw the board whenever it changes, until Ctrl-C or SIGTERM (exit status 0)."""
    remote = _from_peer(data_dir)
    shown: list[str] | None = None
    tty = sys.stdout.isatty()
    with _until_signalled() as stop:
        while not stop[0]:
            board = remote() if remote is not None else None
            source = "from the running peer"
            if board is None:
                board = board_json(class_board(store, me.klass.instructor, {}, hlc.wall_ms()))
                source = "from the store (no peer running: sync unknown)"
            lines = [*board_lines(board), f"({source}; Ctrl-C stops)"]
            if lines != shown:
                sys.stdout.write((_CLEAR if tty else "\n") + "\n".join(lines) + "\n")
                sys.stdout.flush()
                shown = lines
            time.sleep(INTERVAL)
    return 0
