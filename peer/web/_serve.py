"""Serve the UI inside the peer's root nursery: hypercorn's Trio worker on a loopback address
of this data dir's own (so no other local port or program shares its cookies), on the same
port every run while that port is free, the live follower beside it, and a one-time sign-in
URL printed. The address (without a token) is kept in the data dir for ``peerclass ui``,
which mints a fresh sign-in URL from it."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import socket
import webbrowser
from collections.abc import Callable
from pathlib import Path

import attrs
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from peer.errors import UsageError
from peer.identity import Membership
from peer.net import Node
from peer.web._app import build_app
from peer.web._context import ReadMarks, WebContext
from peer.web._live import follow
from peer.web._session import Access
from storage import AsyncStore

log = logging.getLogger("peerclass.web")

#: Where a running peer keeps its UI's address (no token), readable by its owner only.
URL_FILE = "ui.url"
#: The host and port the UI served on last time: the next run takes them again if free.
PORT_FILE = "ui.port"
READ_MARKS_FILE = "ui-read.json"
FALLBACK_HOST = "127.0.0.1"


def ui_host(peer_id: bytes) -> str:
    """A loopback address of this identity's own, 127.a.b.c with a, b, c in 1..254 (never
    127.0.0.1, never the discovery broadcast 127.255.255.255). Browsers scope cookies by host,
    not port: on its own host the session cookie reaches no other local program."""
    digest = hashlib.sha256(b"peerclass-ui:" + peer_id).digest()
    a, b, c = (1 + x % 254 for x in digest[:3])
    return f"127.{a}.{b}.{c}"


@attrs.frozen
class NodeNetwork:
    """The live sessions of the running node, as the UI sees them."""

    node: Node

    def connected(self) -> set[bytes]:
        return self.node.mesh.connected()

    def remote_heads(self) -> dict[bytes, int]:
        merged: dict[bytes, int] = {}
        for session, _ in list(self.node.mesh.sessions.values()):
            machine = session.machine
            if machine is None:  # still starting
                continue
            for author, seq in machine.remote_known.items():
                merged[author] = max(merged.get(author, 0), seq)
        return merged

    def heard(self) -> set[bytes]:
        """Peers whose discovery beacons were heard lately (the class board, issue 20)."""
        return set(self.node.table.live())

    def peer_vectors(self) -> dict[bytes, dict[bytes, int]]:
        """What each connected peer is known to hold (the class board, issue 20)."""
        found: dict[bytes, dict[bytes, int]] = {}
        for peer, (session, _) in list(self.node.mesh.sessions.items()):
            if session.machine is not None:
                found[peer] = dict(session.machine.remote_known)
        return found


def read_url(data_dir: Path) -> str | None:
    """A fresh one-time sign-in URL for the UI of the peer running on ``data_dir``, if it
    serves one."""
    try:
        base = (data_dir / URL_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not base:
        return None
    return f"{base}/#token={Access.for_data_dir(data_dir).mint()}"


def _write_private(path: Path, text: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text + "\n")


def _write_url(data_dir: Path, url: str) -> None:
    _write_private(data_dir / URL_FILE, url)


def _remembered(data_dir: Path) -> int:
    """The port the UI served on last time (0: none)."""
    try:
        text = (data_dir / PORT_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else 0


def _free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as hypercorn binds
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def choose_address(data_dir: Path, peer_id: bytes, port: int) -> tuple[str, int]:
    """(host, port) to serve on: this identity's own loopback address (127.0.0.1 where the
    system has no such address, as macOS by default), and ``port`` if given (a one-line
    error if taken), else last run's port if still free, else any free one (0)."""
    host = ui_host(peer_id)
    with socket.socket() as probe:
        try:
            probe.bind((host, 0))
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            host = FALLBACK_HOST
    if port:
        _check_free(host, port)
        return host, port
    last = _remembered(data_dir)
    return host, (last if last and _free(host, last) else 0)


def _forget_url(data_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (data_dir / URL_FILE).unlink()


def _check_free(host: str, port: int) -> None:
    """A one-line error for a --ui-port in use, before hypercorn fails deep in its nursery."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as hypercorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(f"cannot serve the UI on {host}:{port}: {exc.strerror}") from None


async def _my_name(store: AsyncStore, me: Membership) -> str:
    return (await store.names()).get(me.peer_id) or me.peer_id.hex()[:8]


async def serve_ui(
    store: AsyncStore,
    me: Membership,
    node: Node,
    data_dir: Path,
    announce: Callable[[str], None],
    *,
    port: int = 0,
    open_browser: bool = False,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the UI until cancelled; ``task_status`` gets the sign-in URL once it serves."""
    access = await trio.to_thread.run_sync(Access.for_data_dir, data_dir)
    host, port = await trio.to_thread.run_sync(choose_address, data_dir, me.peer_id, port)
    marks = await trio.to_thread.run_sync(ReadMarks.load, data_dir / READ_MARKS_FILE)
    ctx = WebContext(
        store,
        me,
        access,
        network=NodeNetwork(node),
        read_marks=marks,
        me_name=await _my_name(store, me),
    )
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = log
    config.graceful_timeout = 1.0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow, store, ctx.network, ctx.live)
        binds = await nursery.start(serve, build_app(ctx), config)
        base = binds[0]
        url = f"{base}/#token={access.mint()}"
        try:
            await trio.to_thread.run_sync(_write_url, data_dir, base)
            bound_port = base.rsplit(":", 1)[1]
            await trio.to_thread.run_sync(_write_private, data_dir / PORT_FILE, bound_port)
            announce(f"ui at {url}")
            if open_browser:
                await trio.to_thread.run_sync(webbrowser.open, url)
            task_status.started(url)
            await trio.sleep_forever()
        finally:
            _forget_url(data_dir)
