"""The peer's store: one SQLite file in WAL mode, opened (and migrated) per process.

Everything here is blocking and thread-safe: the running peer calls it through
``trio.to_thread.run_sync``; command-line tools call it directly. Writers take SQLite's write
lock up front (``BEGIN IMMEDIATE``), so the running peer and a ``peerclass chat send`` in
another process never interleave inside one author's log.

:class:`Store` is the one facade; its methods live by concern in ``_store_reads`` (cursor
reads), ``_store_writes`` (authoring, receiving and their guards), ``_store_peers`` (the
address book and strangers) and ``_store_roster`` (roster and names). This module opens and
migrates it.
"""

from __future__ import annotations

import importlib.util
import os
import urllib.parse
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, select

from storage._errors import storage_errors
from storage._notify import notify_address
from storage._private import make_private_file, tighten_data_dir
from storage._reader import Reader, attach_reader, reader_from_files
from storage._store_integrity import Integrity
from storage._store_peers import PeerBook, PeerRecord
from storage._store_reads import CursorReads, EventRef, StoredEvent
from storage._store_writes import Writes
from storage.schema import meta

__all__ = ["DB_FILE", "EventRef", "PeerRecord", "Store", "StoredEvent", "latest_revision"]

DB_FILE = "peerclass.db"
BUSY_TIMEOUT_MS = 15_000


def _migrations_dir() -> Path:
    """Where the ``migrations`` package lies, found without importing it: the migrations
    import ``storage.schema``, so importing them from here would be an arrow running back up
    the layers (``tests/test_layout.py``). Works from a checkout and an installed wheel."""
    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the migrations package is missing from this installation")
    return Path(next(iter(spec.submodule_search_locations)))


def latest_revision() -> str:
    """The newest migration's revision id: migration files are named ``NNNN_what.py`` and
    their revision id is ``NNNN`` (a test checks this agrees with Alembic's own head)."""
    versions = _migrations_dir() / "versions"
    return max(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))


class Store(CursorReads, Writes, PeerBook, Integrity):
    """Blocking access to one peer's database; all methods are whole units of work.

    One facade so callers hold one object; the concerns it joins are separate modules.
    """

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path, reader: Reader | None = None) -> Store:
        """Open (creating if needed) the store in ``data_dir`` and bring its schema to head.
        A full, read-only or missing disk is a :class:`~peer.errors.StorageError`.

        ``reader`` is the identity whose sealed bodies the projections open; by default the
        data dir's own identity (none in a dir without one: sealed bodies then stay closed).
        """
        with storage_errors(data_dir):
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not (data_dir / DB_FILE).exists():
                # 0600 from the start, whatever the directory's mode: SQLite then gives its
                # -wal and -shm files this mode too.
                make_private_file(data_dir / DB_FILE)
        tighten_data_dir(data_dir)  # and whatever else is here (issue 18)
        engine = create_engine(
            _database_url(data_dir),
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        reader = reader if reader is not None else reader_from_files(data_dir)
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "connect", lambda _dbapi, record: attach_reader(record.info, reader))
        event.listen(engine, "begin", _on_begin)
        store = cls(engine, notify_address(data_dir), data_dir)
        store._reader = reader
        try:
            store._migrate()
            store._match_reader()
        except BaseException:
            store.close()
            raise
        return store

    def _match_reader(self) -> None:
        """Projections hold what one identity can read: remake them if made for another."""
        wanted = "" if self._reader is None else self._reader.peer_id.hex()
        with self._read() as conn:
            made_for = conn.execute(
                select(meta.c.value).where(meta.c.key == "projection_reader")
            ).scalar()
        if made_for == wanted:
            return
        self.rebuild_projections()  # records whom they are now made for

    def _migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic is only loaded when needed)."""
        if self._schema_revision() == latest_revision():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_migrations_dir()))
        with self._write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            flag = select(meta.c.value).where(meta.c.key == "rebuild_projections")
            rebuild = conn.execute(flag).first() is not None
        if rebuild:  # a migration changed what the projections hold
            self.rebuild_projections()

    def _schema_revision(self) -> str | None:
        with self._read() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).first()
            if exists is None:
                return None
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            return None if version is None else str(version)


def _database_url(data_dir: Path) -> str:
    """The store's URL. On a read-only file system SQLite cannot make the WAL's index file,
    so the database is opened immutable there (nothing can change it): reading commands work,
    and a write says the disk is read-only."""
    path = data_dir / DB_FILE
    try:
        read_only = path.exists() and bool(os.statvfs(data_dir).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): open as usual
        read_only = False
    if read_only:
        return f"sqlite:///file:{urllib.parse.quote(str(path))}?mode=ro&immutable=1&uri=true"
    return f"sqlite:///{path}"


# ---- SQLite connection set-up -------------------------------------------------------------


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook emit BEGIN itself (the pysqlite recipe), and turn on WAL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: a catch-up touches many index pages
    cursor.execute("PRAGMA wal_autocheckpoint=8192")  # checkpoint (and fsync) every 32 MiB
    cursor.close()


def _on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("peerclass_write")
    if mode is None:
        conn.exec_driver_sql("BEGIN")
        return
    # Our own events must survive power loss before we say they are saved (a lost one could
    # have its seq reused: a fork). Received events can be fetched again, so NORMAL will do.
    conn.exec_driver_sql(
        "PRAGMA synchronous=FULL" if mode == "full" else "PRAGMA synchronous=NORMAL"
    )
    conn.exec_driver_sql("BEGIN IMMEDIATE")
