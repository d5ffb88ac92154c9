"""Every file in a data dir is its owner's alone (0600), whatever the directory's mode.

The database holds decrypted content and content keys, so a store made inside a directory
that already existed with mode 0755 must not come out 0644 under the usual umask. SQLite
creates ``-wal`` and ``-shm`` with the database file's own mode, so creating the database 0600
before SQLite opens it keeps them private too; whatever else an earlier run, another version
or another tool left in the directory is tightened when a store opens.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_FILE_MODE", "make_private_file", "tighten_data_dir"]

PRIVATE_FILE_MODE = 0o600


def make_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (never following a
    symlink someone planted there), and make it 0600 if it does."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


def tighten_data_dir(data_dir: Path) -> None:
    """Take every permission for group and others off each regular file and directory
    directly in ``data_dir`` that this user owns (so 0644 becomes 0600). Files of other
    users, and anything that vanishes meanwhile, are left as they are: this is hygiene,
    never a reason to fail."""
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    with contextlib.suppress(OSError), os.scandir(data_dir) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if uid is not None and info.st_uid != uid:
                    continue
                mode = stat.S_IMODE(info.st_mode)
                if mode & 0o077 and (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                    os.chmod(entry.path, mode & 0o700)  # what the owner had, no one else
