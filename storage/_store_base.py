"""What every part of the store shares: the engine, the two kinds of transaction, the reader.

``Store`` is assembled from one mixin per concern (``_store_reads``, ``_store_writes``,
``_store_peers``, ``_store_roster``); each builds on this base, so a concern's module holds
its queries and nothing about connections, locks or disk errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from storage._errors import storage_errors
from storage._reader import Reader


class StoreBase:
    """Blocking access to one peer's database; all methods are whole units of work."""

    def __init__(
        self, engine: Engine, notify: str | bytes | None = None, data_dir: Path | None = None
    ) -> None:
        self._engine = engine
        #: Named in errors about a full, read-only or missing disk (``storage._errors``).
        self.data_dir = data_dir
        self._write_lock = threading.Lock()
        #: The identity sealed bodies are opened as (set by ``Store.open``).
        self._reader: Reader | None = None
        #: Where the peer running on this data dir hears that we appended (see ``_notify``).
        self.notify_address = notify

    @property
    def reader(self) -> Reader | None:
        """The identity this store reads sealed bodies as: callers that seal or open bodies
        themselves must use the same one the projections were made for."""
        return self._reader

    def close(self) -> None:
        """Let go of the pooled connections, so the file can be removed or reopened."""
        self._engine.dispose()

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[Connection]:
        """One write transaction, holding SQLite's write lock from its first statement."""
        with storage_errors(self.data_dir), self._write_lock, self._engine.connect() as conn:
            conn = conn.execution_options(peerclass_write="full" if durable else "normal")
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with storage_errors(self.data_dir), self._engine.connect() as conn, conn.begin():
            yield conn

    def read(self) -> Any:
        """A read transaction for query modules (``storage.queries``): they see one snapshot
        and get disk errors translated like every other store call."""
        return self._read()
