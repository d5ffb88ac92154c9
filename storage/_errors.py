"""What a failing disk looks like to a person: SQLite's and the OS's errors about the data dir
translated into one :class:`~peer.errors.StorageError` each, with what to do about it.

SQLite often reports a full or read-only disk vaguely ("disk I/O error", "unable to open
database file"), so the translation asks the file system itself: it tries to write a small
file in the data dir and looks at the free space.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from peer.errors import (
    StorageError,
    StorageFullError,
    StorageMissingError,
    StorageReadOnlyError,
)

#: Less free space than this on the data dir's file system counts as a full disk: SQLite
#: needs whole pages (and a WAL frame per page) for even a tiny write.
LOW_SPACE_BYTES = 1 << 20
_PROBE_BYTES = 16 * 1024

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS}
_DENIED = {errno.EACCES, errno.EPERM}
_MISSING = {errno.ENOENT, errno.ENOTDIR}

#: SQLite's messages for the conditions we translate (anything else is not ours to explain).
_SQLITE_FULL = "database or disk is full"
_SQLITE_VAGUE = (
    "attempt to write a readonly database",
    "unable to open database file",
    "disk i/o error",
    "readonly database",
)
_SQLITE_DAMAGED = ("database disk image is malformed", "file is not a database")


def from_os_error(exc: OSError, data_dir: Path | None) -> StorageError | None:
    """The StorageError an OS error about the data dir stands for (None: not one of ours)."""
    where = str(exc.filename) if exc.filename else str(data_dir or "the data dir")
    place = data_dir if data_dir is not None else Path(where)
    if exc.errno in _FULL:
        return StorageFullError(
            f"the disk holding {place} is full: free some space, then try again (nothing was lost)"
        )
    if exc.errno in _READ_ONLY:
        return StorageReadOnlyError(
            f"{place} is on a read-only file system: make it writable, or give "
            "--data-dir a writable directory"
        )
    if exc.errno in _DENIED:
        return StorageReadOnlyError(
            f"no permission to use {where}: fix the owner or permissions of {place}, "
            "or give --data-dir a directory you own"
        )
    if exc.errno in _MISSING:
        return StorageMissingError(
            f"{where} does not exist: check --data-dir (or PEERCLASS_HOME), or run "
            "'peerclass init' to create a data dir"
        )
    if exc.errno == errno.EIO:
        return StorageError(
            f"input/output error on {where}: the disk may be failing or was removed"
        )
    return None


def from_sqlite_error(exc: BaseException, data_dir: Path | None) -> StorageError | None:
    """The StorageError a SQLite error stands for, asking the file system what is wrong."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, sqlite3.Error):
        return None
    text = str(orig).lower()
    if _SQLITE_FULL in text:
        return from_os_error(OSError(errno.ENOSPC, "full"), data_dir)
    if any(damaged in text for damaged in _SQLITE_DAMAGED):
        where = data_dir or "the data dir"
        return StorageError(
            f"the store in {where} is damaged ({orig}): restore the data dir from a backup, "
            "or move it aside and run 'peerclass init' again"
        )
    if not any(vague in text for vague in _SQLITE_VAGUE):
        return None
    if data_dir is not None:
        found = probe(data_dir)
        if found is not None:
            translated = from_os_error(found, data_dir)
            if translated is not None:
                return translated
    return StorageError(
        f"cannot use the store in {data_dir or 'the data dir'}: {orig} (is the disk full, "
        "read-only or removed?)"
    )


def as_storage_error(exc: BaseException, data_dir: Path | None) -> StorageError | None:
    """The StorageError ``exc`` stands for, or None when it is no storage condition."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc, data_dir)
    return from_sqlite_error(exc, data_dir)


def probe(data_dir: Path) -> OSError | None:
    """Why the data dir cannot take a small write right now, or None if it can."""
    if not data_dir.is_dir():
        return FileNotFoundError(errno.ENOENT, "no such directory", str(data_dir))
    path = data_dir / f".peerclass-probe-{os.getpid()}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, bytes(_PROBE_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return exc
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    try:
        fs = os.statvfs(data_dir)
    except OSError:
        return None
    if fs.f_bavail * fs.f_frsize < LOW_SPACE_BYTES:
        return OSError(errno.ENOSPC, "little free space", str(data_dir))
    return None


@contextlib.contextmanager
def storage_errors(data_dir: Path | None) -> Iterator[None]:
    """Raise a StorageError in place of a SQLite or OS error about the data dir."""
    try:
        yield
    except StorageError:
        raise
    except (DBAPIError, sqlite3.Error, OSError) as exc:
        translated = as_storage_error(exc, data_dir)
        if translated is None:
            raise
        raise translated from exc
