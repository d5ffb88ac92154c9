"""A wake-up call from a process that wrote to the store to the peer running on the same
data dir: one datagram on a local socket, so the peer pushes a new event at once instead of
finding it by polling.

On Linux the socket lives in the abstract namespace (no file to clean up, no path-length
limit), named by a hash of the data dir; elsewhere it is ``notify.sock`` in the data dir.
A datagram carries nothing: it only says "look again". Losing one costs nothing but latency,
since the peer also looks every few seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
from pathlib import Path

NOTIFY_FILE = "notify.sock"


def notify_address(data_dir: Path) -> str | bytes:
    """Where the peer running on ``data_dir`` listens for wake-up calls."""
    resolved = str(data_dir.resolve())
    if sys.platform.startswith("linux"):
        digest = hashlib.blake2b(resolved.encode(), digest_size=16).hexdigest()
        return b"\0peerclass/" + digest.encode()
    return str(data_dir / NOTIFY_FILE)


def send_wakeup(address: str | bytes) -> None:
    """Tell the peer listening at ``address`` (if any) that the store has new events."""
    if not hasattr(socket, "AF_UNIX"):
        return
    with (
        contextlib.suppress(OSError),
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
    ):
        sock.setblocking(False)
        sock.sendto(b"!", address)
