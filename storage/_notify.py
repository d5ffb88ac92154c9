"""A wake-up call from a process that wrote to the store to the peer running on the same
data dir: one datagram on a local socket, so the peer pushes a new event at once instead of
finding it by polling.

Only this user can reach it. The socket is a file in ``wake/``, a directory of the data dir
that is 0700 and this user's own (made so, and checked, before anything binds there), so
another local user can neither send to it nor flood it; on Linux the kernel also attaches
each datagram's sender credentials (``SO_PASSCRED``) and the peer ignores any that is not from
its own uid. (An abstract Unix socket, which this replaced, has no permissions at all.)

A datagram carries nothing: it only says "look again". Losing one costs nothing but latency,
since the peer also looks every few seconds. A path too long for a Unix socket address (about
100 bytes) is reached through the directory's file descriptor (``/proc/self/fd/N``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "NOTIFY_DIR",
    "NOTIFY_FILE",
    "credentials_check",
    "notify_address",
    "prepare_notify_dir",
    "reachable",
    "send_wakeup",
    "sender_is_me",
]

NOTIFY_DIR = "wake"
NOTIFY_FILE = "notify.sock"
#: Room in ``sockaddr_un.sun_path`` (108 bytes on Linux, 104 on macOS), with a margin.
_MAX_PATH = 100
#: ``struct ucred``: pid, uid, gid.
_UCRED = struct.Struct("iII")
_PASSCRED = getattr(socket, "SO_PASSCRED", None)
_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", None)


def notify_address(data_dir: Path) -> str:
    """Where the peer running on ``data_dir`` listens for wake-up calls."""
    return str(data_dir / NOTIFY_DIR / NOTIFY_FILE)


def prepare_notify_dir(address: str) -> bool:
    """Make the socket's directory (0700, ours) before binding; False if it is not private
    to this user and cannot be made so (then the peer polls instead of listening)."""
    folder = Path(address).parent
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            return False
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(folder, 0o700)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def reachable(address: str) -> Iterator[str]:
    """``address``, or where a long one can be reached: through its directory's descriptor."""
    if len(os.fsencode(address)) <= _MAX_PATH or not sys.platform.startswith("linux"):
        yield address
        return
    folder, name = os.path.split(address)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{name}"
    finally:
        os.close(fd)


def send_wakeup(address: str | bytes) -> None:
    """Tell the peer listening at ``address`` (if any) that the store has new events."""
    if not hasattr(socket, "AF_UNIX") or isinstance(address, bytes):
        return
    with (
        contextlib.suppress(OSError),
        reachable(address) as where,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
    ):
        sock.setblocking(False)
        sock.sendto(b"!", where)


def credentials_check(sock: socket.socket) -> int:
    """Ask the kernel to attach each datagram's sender credentials (Linux); returns the
    ancillary buffer size ``recvmsg`` needs for them (0 where there are none)."""
    if _PASSCRED is None or _CREDENTIALS is None:
        return 0
    sock.setsockopt(socket.SOL_SOCKET, _PASSCRED, 1)
    return socket.CMSG_SPACE(_UCRED.size)


def sender_is_me(ancillary: list[tuple[int, int, bytes]]) -> bool:
    """Whether a datagram's credentials (from ``recvmsg``) name this process's user; True
    where the platform attaches none (the private directory is then the only guard)."""
    if _CREDENTIALS is None:
        return True
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _CREDENTIALS and len(data) >= _UCRED.size:
            _pid, uid, _gid = _UCRED.unpack_from(data)
            return bool(uid == os.getuid())
    return False
