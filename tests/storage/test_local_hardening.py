"""Local hardening (issue 18): the wake-up channel answers only this user, and every file in
a data dir is 0600 whatever the directory's mode."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nacl.signing
import pytest
import trio
import trio.testing

import storage._async as async_module
from storage import AsyncStore, Store
from tests.helpers import pc_ok

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="sending as another user needs root and setpriv",
)

#: Run as nobody: send ``count`` datagrams to the socket at argv[1]; print how many went and
#: the errors seen.
_FLOOD = """
import socket, sys
sent, errors = 0, set()
for _ in range(int(sys.argv[2])):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"!", sys.argv[1])
        sent += 1
    except OSError as exc:
        errors.add(exc.errno)
print(sent, sorted(errors))
"""


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A data dir that already exists with mode 0755, on a path every user can walk."""
    top = Path(tempfile.mkdtemp(prefix="pc-hardening-"))
    try:
        top.chmod(0o755)
        data_dir = top / "data"
        data_dir.mkdir(mode=0o755)
        data_dir.chmod(0o755)
        yield data_dir
    finally:
        shutil.rmtree(top)


def _flood_as_nobody(address: str, count: int) -> tuple[int, str]:
    done = subprocess.run(
        [*NOBODY, sys.executable, "-c", _FLOOD, address, str(count)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sent, errors = done.stdout.split(" ", 1)
    return int(sent), errors.strip()


async def _watching(store: Store, monkeypatch: pytest.MonkeyPatch) -> tuple[AsyncStore, list[int]]:
    """An AsyncStore whose refreshes are counted; the fallback poll an hour away."""
    monkeypatch.setattr(async_module, "FALLBACK_POLL_INTERVAL", 3600.0)
    watched = AsyncStore(store)
    refreshes: list[int] = []
    original = AsyncStore.refresh

    async def counted(self: AsyncStore) -> None:
        refreshes.append(1)
        await original(self)

    monkeypatch.setattr(AsyncStore, "refresh", counted)
    return watched, refreshes


@needs_root
async def test_another_user_cannot_reach_the_wake_up_socket(
    open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(open_dir)
    writer = Store.open(open_dir)
    key = nacl.signing.SigningKey.generate()
    try:
        watched, refreshes = await _watching(store, monkeypatch)
        address = store.notify_address
        assert isinstance(address, str)
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                await nursery.start(watched.watch_other_writers)
                assert await trio.Path(address).is_socket()
                before = len(refreshes)
                sent, errors = await trio.to_thread.run_sync(_flood_as_nobody, address, 2000)
                # Refused by the file system: nobody may not even enter the socket's directory.
                assert (sent, errors) == (0, "[13]")
                await trio.testing.wait_all_tasks_blocked()
                assert len(refreshes) == before
                # This user's own writers still wake the peer at once.
                start = watched.watch.max_local_id
                await trio.to_thread.run_sync(
                    lambda: writer.append(key, "chat", {"room": "general", "text": "hi"})
                )
                await watched.watch.wait_beyond(start)
                nursery.cancel_scope.cancel()
    finally:
        writer.close()
        store.close()


@needs_root
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_PASSCRED is Linux's")
async def test_a_datagram_from_another_uid_wakes_nothing_even_if_it_gets_through(
    open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second guard: should the directory ever be opened up, the kernel's credentials on
    each datagram still tell the peer it is not from its own user."""
    store = Store.open(open_dir)
    try:
        watched, refreshes = await _watching(store, monkeypatch)
        address = store.notify_address
        assert isinstance(address, str)
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                await nursery.start(watched.watch_other_writers)
                await trio.Path(address).parent.chmod(0o755)  # as a careless admin might
                await trio.Path(address).chmod(0o777)
                before = len(refreshes)
                sent, errors = await trio.to_thread.run_sync(_flood_as_nobody, address, 500)
                assert sent > 0, errors  # they did get through this time
                await trio.testing.wait_all_tasks_blocked()
                assert len(refreshes) == before  # and woke nothing
                nursery.cancel_scope.cancel()
    finally:
        store.close()


async def test_a_long_data_dir_path_still_gets_its_wake_up_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / ("d" * 60) / ("e" * 60)
    store = Store.open(data_dir)
    writer = Store.open(data_dir)
    key = nacl.signing.SigningKey.generate()
    try:
        assert isinstance(store.notify_address, str) and len(store.notify_address) > 108
        watched, _refreshes = await _watching(store, monkeypatch)
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                await nursery.start(watched.watch_other_writers)
                start = watched.watch.max_local_id
                await trio.to_thread.run_sync(
                    lambda: writer.append(key, "chat", {"room": "general", "text": "hi"})
                )
                await watched.watch.wait_beyond(start)
                nursery.cancel_scope.cancel()
    finally:
        writer.close()
        store.close()


def _loose(data_dir: Path) -> dict[str, str]:
    """Files in ``data_dir`` (recursively) whose mode lets group or others in."""
    found = {}
    for path in data_dir.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if (path.is_file() or path.is_dir()) and mode & 0o077:
            found[str(path.relative_to(data_dir))] = oct(mode)
    return found


def test_every_file_in_a_0755_data_dir_is_0600(open_dir: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        left = open_dir / "notes.txt"  # something an older version or the user left here
        left.write_text("private\n")
        assert stat.S_IMODE(left.stat().st_mode) == 0o644
        pc_ok(open_dir, "init", "--name", "Kim", "--role", "instructor", "--class", "X")
        pc_ok(open_dir, "chat", "send", "hello")
        store = Store.open(open_dir)  # open: the -wal and -shm files exist now
        try:
            store.append(
                nacl.signing.SigningKey.generate(), "chat", {"room": "general", "text": "hi"}
            )
            names = {p.name for p in open_dir.iterdir()}
            assert {"peerclass.db", "peerclass.db-wal", "peerclass.db-shm"} <= names
            assert {"identity.key", "class.json", "notes.txt"} <= names
            assert _loose(open_dir) == {}
        finally:
            store.close()
        assert stat.S_IMODE(open_dir.stat().st_mode) == 0o755  # the directory is the user's
    finally:
        os.umask(old_umask)
