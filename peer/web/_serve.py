"""Serve the UI inside the peer's root nursery: hypercorn's Trio worker on 127.0.0.1, the live
follower beside it, and the URL (with this run's token) printed and kept in the data dir."""

from __future__ import annotations

import contextlib
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
from peer.web._security import Access, new_token
from storage import AsyncStore

log = logging.getLogger("peerclass.web")

#: Where a running peer keeps its UI's address (token included), readable by its owner only.
URL_FILE = "ui.url"
READ_MARKS_FILE = "ui-read.json"


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


def read_url(data_dir: Path) -> str | None:
    """The URL the peer running on ``data_dir`` serves its UI at, if it wrote one."""
    try:
        return (data_dir / URL_FILE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _write_url(data_dir: Path, url: str) -> None:
    path = data_dir / URL_FILE
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(url + "\n")


def _forget_url(data_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (data_dir / URL_FILE).unlink()


def _check_free(port: int) -> None:
    """A one-line error for a --ui-port in use, before hypercorn fails deep in its nursery."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as hypercorn binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UsageError(f"cannot serve the UI on 127.0.0.1:{port}: {exc.strerror}") from None


def _my_name(store: AsyncStore, me: Membership) -> str:
    return store.store.names().get(me.peer_id) or me.peer_id.hex()[:8]


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
    """Serve the UI until cancelled; ``task_status`` gets the URL once it serves."""
    access = Access(new_token())
    marks = await trio.to_thread.run_sync(ReadMarks.load, data_dir / READ_MARKS_FILE)
    ctx = WebContext(
        store,
        me,
        access,
        network=NodeNetwork(node),
        read_marks=marks,
        me_name=await trio.to_thread.run_sync(_my_name, store, me),
    )
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = log
    config.graceful_timeout = 1.0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow, store, ctx.network, ctx.live)
        if port:
            _check_free(port)
        binds = await nursery.start(serve, build_app(ctx), config)
        url = f"{binds[0]}/#token={access.token}"
        try:
            await trio.to_thread.run_sync(_write_url, data_dir, url)
            announce(f"ui at {url}")
            if open_browser:
                await trio.to_thread.run_sync(webbrowser.open, url)
            task_status.started(url)
            await trio.sleep_forever()
        finally:
            _forget_url(data_dir)
