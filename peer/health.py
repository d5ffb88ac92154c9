"""Whether a data dir is healthy, for ``peerclass doctor`` and the web UI's Network page
(issue 21): private (nobody else can read the identity's key), readable as a store, with room
to write. One check, two wordings: the command prints English, the page speaks the browser's
language, so the facts are returned here and each reader words them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs

from peer.errors import StorageError
from peer.identity import loose_permissions
from storage import Store

__all__ = ["LOW_DISK", "DataDirHealth", "check_data_dir"]

#: Free space below this in the data dir's file system is worth a warning.
LOW_DISK = 50 * 1024 * 1024


@attrs.frozen
class DataDirHealth:
    """What was found: ``loose`` names key files (or the dir) others can read; ``error`` says
    why the store could not be read (then ``events`` is 0)."""

    path: str
    loose: tuple[str, ...]
    error: str | None
    events: int
    free_bytes: int

    @property
    def low_disk(self) -> bool:
        return self.error is None and self.free_bytes < LOW_DISK

    @property
    def healthy(self) -> bool:
        return not self.loose and self.error is None and not self.low_disk


def check_data_dir(data_dir: Path, store: Store | None = None) -> DataDirHealth:
    """Look at ``data_dir``; ``store`` is its store if already open (the web UI's), else it
    is opened and closed here. Permissions are looked at first: opening a store tightens
    them."""
    loose = tuple(loose_permissions(data_dir))
    try:
        if store is not None:
            events = sum(store.heads().values())
        else:
            opened = Store.open(data_dir)
            try:
                events = sum(opened.heads().values())
            finally:
                opened.close()
    except StorageError as exc:
        return DataDirHealth(str(data_dir), loose, str(exc), 0, 0)
    free = shutil.disk_usage(data_dir).free
    return DataDirHealth(str(data_dir), loose, None, events, free)
