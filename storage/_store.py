"""The peer's store: one SQLite file in WAL mode, opened (and migrated) per process.

Everything here is blocking and thread-safe: the running peer calls it through
``trio.to_thread.run_sync``; command-line tools call it directly. Writers take SQLite's write
lock up front (``BEGIN IMMEDIATE``), so the running peer and a ``peerclass chat send`` in
another process never interleave inside one author's log.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import nacl.signing
from sqlalchemy import (
    Connection,
    Engine,
    case,
    create_engine,
    delete,
    event,
    false,
    func,
    insert,
    null,
    select,
    update,
)

import migrations
from peer.errors import UsageError
from peer.log import Event, decode_event, hlc, make_event
from storage import _authoring, projections
from storage._errors import storage_errors
from storage._ingest import IngestResult, ingest, insert_run, load_head, now_ms
from storage._notify import notify_address, send_wakeup
from storage._reader import Reader, attach_reader, reader_from_files
from storage.projections import Roster, load_roster, seal_outgoing
from storage.schema import events, forks, heads, invites, meta, peers, profiles

DB_FILE = "peerclass.db"
BUSY_TIMEOUT_MS = 15_000


@attrs.frozen
class StoredEvent:
    """An event as the gossip cursor sees it."""

    local_id: int
    author: bytes
    seq: int
    kind: str
    raw: bytes


@attrs.frozen
class EventRef:
    """Where an event sits in the store, without its bytes."""

    local_id: int
    author: bytes
    seq: int
    kind: str
    id: bytes


@attrs.frozen
class PeerRecord:
    id: bytes
    name: str | None
    role: str | None
    address: str | None
    last_seen: int | None
    connected: bool


def latest_revision() -> str:
    """The newest migration's revision id: migration files are named ``NNNN_what.py`` and
    their revision id is ``NNNN`` (a test checks this agrees with Alembic's own head)."""
    versions = Path(migrations.__file__).parent / "versions"
    return max(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))


class Store:
    """Blocking access to one peer's database; all methods are whole units of work."""

    def __init__(
        self, engine: Engine, notify: str | bytes | None = None, data_dir: Path | None = None
    ) -> None:
        self._engine = engine
        #: Named in errors about a full, read-only or missing disk (``storage._errors``).
        self.data_dir = data_dir
        self._write_lock = threading.Lock()
        #: The identity sealed bodies are opened as (set by :meth:`open`).
        self._reader: Reader | None = None
        #: Where the peer running on this data dir hears that we appended (see ``_notify``).
        self.notify_address = notify

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

    @property
    def reader(self) -> Reader | None:
        """The identity this store reads sealed bodies as."""
        return self._reader

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

    def _record_reader(self, conn: Connection) -> None:
        wanted = "" if self._reader is None else self._reader.peer_id.hex()
        conn.execute(delete(meta).where(meta.c.key == "projection_reader"))
        conn.execute(insert(meta).values(key="projection_reader", value=wanted))

    def _migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic is only loaded when needed)."""
        if self._schema_revision() == latest_revision():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(migrations.__file__).parent))
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

    def close(self) -> None:
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

    # ---- writing -------------------------------------------------------------------------

    def append(
        self, signing_key: nacl.signing.SigningKey, kind: str, body: Mapping[str, Any]
    ) -> Event:
        """Author an event as the next in our own log; durable before this returns."""
        return self.append_many(signing_key, [(kind, body)])[0]

    def append_many(
        self, signing_key: nacl.signing.SigningKey, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[Event]:
        """Author several events, in order, in one durable transaction: lines typed faster
        than the disk syncs share one sync (group commit) instead of queueing behind it."""
        author = bytes(signing_key.verify_key)
        authored: list[Event] = []
        with self._write(durable=True) as conn:
            head = load_head(conn, author)
            if head.forked:
                raise UsageError("this peer's own log is marked forked; refusing to extend it")
            blocked = _authoring.authoring_block(conn, head.seq)
            if blocked is not None:
                raise UsageError(f"not saved: {blocked}")
            latest = conn.execute(
                select(func.max(heads.c.ts)).where(heads.c.ts < hlc.drift_limit())
            ).scalar()
            for kind, body in items:
                ts = hlc.next_ts(max(latest or 0, head.ts))
                sealed = seal_outgoing(conn, self._reader, author, kind, body)
                ev = make_event(
                    signing_key, seq=head.seq + 1, prev=head.id, ts=ts, kind=kind, body=sealed
                )
                projections.project(conn, ev)
                insert_run(conn, [ev], head)
                authored.append(ev)
        if self.notify_address is not None:
            send_wakeup(self.notify_address)
        return authored

    def ingest(self, raws: Sequence[bytes]) -> IngestResult:
        """Validate and store events received from other peers, in one transaction
        (the receive path is :func:`storage._ingest.ingest`)."""
        return ingest(self._write, raws)

    def record_peer(self, peer_id: bytes, address: str | None, *, connected: bool) -> None:
        """Note that we met ``peer_id`` now, at ``address``, and whether we still are."""
        values = {"address": address, "last_seen": now_ms(), "connected": connected}
        with self._write() as conn:
            done = conn.execute(update(peers).where(peers.c.id == peer_id).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(peers).values(id=peer_id, **values))

    def block_authoring(self, kind: str, reason: str, seconds: int) -> None:
        """Refuse to author for ``seconds`` (kind ``twin``: a live copy of our identity)."""
        assert kind == "twin"
        with self._write() as conn:
            _authoring.block_for_twin(conn, reason, seconds)

    def note_own_log_elsewhere(self, seq: int, reason: str) -> None:
        """Another peer holds our own log up to ``seq``: refuse to author until ours does."""
        with self._write() as conn:
            _authoring.note_own_log_elsewhere(conn, seq, reason)

    def authoring_block(self, author: bytes) -> str | None:
        """Why ``author`` (this data dir's identity) may not author now, or None."""
        with self._read() as conn:
            return _authoring.authoring_block(conn, load_head(conn, author).seq)

    def strangers_among(self, peer_ids: Sequence[bytes]) -> set[bytes]:
        """Those of ``peer_ids`` that are no member we know: no log of theirs here, or (in a
        class with a roster) not on it or removed from it."""
        with self._read() as conn:
            query = select(heads.c.author).where(heads.c.author.in_(list(peer_ids)))
            held = set(conn.execute(query).scalars())
        strangers = set(peer_ids) - held
        if self.roster() is not None:
            strangers |= {p for p in held if self.roster_state(p) in (None, "removed")}
        return strangers

    def forget_strangers(self) -> int:
        """Drop address book rows of disconnected peers whose log we never held (e.g.
        throwaway identities), so they do not stay in ``peers`` for ever."""
        with self._write() as conn:
            no_log = peers.c.id.not_in(select(heads.c.author))
            done = conn.execute(delete(peers).where(peers.c.connected.is_(False), no_log))
            return int(done.rowcount)

    def set_running(self, pid: int | None) -> None:
        """Record (or clear) the pid of the ``peerclass run`` using this data dir."""
        with self._write() as conn:
            conn.execute(delete(meta).where(meta.c.key == "node_pid"))
            if pid is None:
                conn.execute(update(peers).values(connected=False))
            else:
                conn.execute(insert(meta).values(key="node_pid", value=str(pid)))

    def running_pid(self) -> int | None:
        with self._read() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == "node_pid")).scalar()
        return None if value is None else int(value)

    def rebuild_projections(self) -> int:
        """Throw the projections away and replay every stored event; returns how many."""
        count = 0
        with self._write() as conn:
            # Cleared in the rebuild's own transaction: a crash before it commits means the
            # next open rebuilds again.
            conn.execute(delete(meta).where(meta.c.key == "rebuild_projections"))
            self._record_reader(conn)  # projections hold what this reader can read
            projections.clear_all(conn)
            result = conn.execute(select(events.c.raw).order_by(events.c.local_id))
            for (raw,) in result:
                projections.project(conn, decode_event(raw))
                count += 1
        return count

    # ---- reading -------------------------------------------------------------------------

    def heads(self) -> dict[bytes, int]:
        """The version vector: author -> last seq held."""
        with self._read() as conn:
            return {
                row.author: row.seq for row in conn.execute(select(heads.c.author, heads.c.seq))
            }

    def vector(self) -> dict[bytes, tuple[int, bytes]]:
        """The version vector with head ids: author -> (last seq held, that event's id)."""
        with self._read() as conn:
            rows = conn.execute(select(heads.c.author, heads.c.seq, heads.c.id))
            return {row.author: (row.seq, row.id) for row in rows}

    def fork_points(self) -> dict[bytes, int]:
        """Forked author -> the first seq where two signed versions of its log may differ.

        A second event for a seq we hold forks at that seq; an event whose ``prev`` fails our
        head (recorded without ``kept_id``) shows the logs parted at its predecessor already.
        """
        point = func.min(case((forks.c.kept_id.is_(None), forks.c.seq - 1), else_=forks.c.seq))
        query = select(forks.c.author, point).group_by(forks.c.author)
        with self._read() as conn:
            return {row[0]: max(1, int(row[1])) for row in conn.execute(query)}

    def forked_authors(self) -> set[bytes]:
        with self._read() as conn:
            rows = conn.execute(select(heads.c.author).where(heads.c.forked.is_(True)))
            return {row.author for row in rows}

    def fork_count(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(forks)).scalar_one())

    def event_count(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    def max_local_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.max(events.c.local_id))).scalar() or 0)

    def events_after(self, local_id: int, limit: int) -> list[StoredEvent]:
        """Events stored after cursor ``local_id``, in the order they were stored."""
        query = (
            select(events.c.local_id, events.c.author, events.c.seq, events.c.kind, events.c.raw)
            .where(events.c.local_id > local_id)
            .order_by(events.c.local_id)
            .limit(limit)
        )
        with self._read() as conn:
            return [StoredEvent(*row) for row in conn.execute(query).all()]

    def refs_after(self, local_id: int, limit: int) -> list[EventRef]:
        """Like :meth:`events_after` without the bytes: the gossip and console first decide
        what they need (usually little: a peer's own arrivals need not go back to it)."""
        query = (
            select(events.c.local_id, events.c.author, events.c.seq, events.c.kind, events.c.id)
            .where(events.c.local_id > local_id)
            .order_by(events.c.local_id)
            .limit(limit)
        )
        with self._read() as conn:
            return [EventRef(*row) for row in conn.execute(query).all()]

    def raws(self, local_ids: Sequence[int]) -> list[bytes]:
        """The bytes of the given events, in the order given."""
        found: dict[int, bytes] = {}
        with self._read() as conn:
            for start in range(0, len(local_ids), 500):
                chunk = local_ids[start : start + 500]
                query = select(events.c.local_id, events.c.raw).where(events.c.local_id.in_(chunk))
                found.update((row[0], row[1]) for row in conn.execute(query).all())
        return [found[i] for i in local_ids]

    def events_range(self, author: bytes, after_seq: int, limit: int) -> list[bytes]:
        """Up to ``limit`` raw events of ``author`` with seq > ``after_seq``, in seq order."""
        query = (
            select(events.c.raw)
            .where(events.c.author == author, events.c.seq > after_seq)
            .order_by(events.c.seq)
            .limit(limit)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars().all())

    def event_by_id(self, event_id: bytes) -> Event | None:
        with self._read() as conn:
            raw = conn.execute(select(events.c.raw).where(events.c.id == event_id)).scalar()
        return None if raw is None else decode_event(raw)

    def resolve_prefix(self, prefix: str, *, kind: str | None = None) -> bytes:
        """The one event id starting with hex ``prefix`` (8+ digits), or a clear UsageError."""
        return self._resolve(prefix, kind=kind, table_col=events.c.id)

    def _resolve(self, prefix: str, *, kind: str | None, table_col: Any) -> bytes:
        text = prefix.strip().lower()
        what = kind or "event"
        if len(text) < 8 or len(text) > 64 or any(c not in "0123456789abcdef" for c in text):
            raise UsageError(f"{prefix!r} is not an id: give 8 to 64 hex digits")
        low = bytes.fromhex(text + "0" * (64 - len(text)))
        high = bytes.fromhex(text + "f" * (64 - len(text)))
        query = select(table_col).where(table_col >= low, table_col <= high).limit(2)
        if kind is not None and table_col is events.c.id:
            query = query.where(events.c.kind == kind)
        with self._read() as conn:
            found = [row[0] for row in conn.execute(query)]
        if not found:
            raise UsageError(f"no {what} has an id starting with {text}")
        if len(found) > 1:
            raise UsageError(f"id prefix {text} is ambiguous: give more digits")
        return bytes(found[0])

    def peer_records(self) -> list[PeerRecord]:
        """Everyone we met on the network or know from the logs (profiles)."""
        met = select(
            peers.c.id,
            profiles.c.name,
            profiles.c.role,
            peers.c.address,
            peers.c.last_seen,
            peers.c.connected,
        ).join_from(peers, profiles, profiles.c.author == peers.c.id, isouter=True)
        only_known = select(
            profiles.c.author, profiles.c.name, profiles.c.role, null(), null(), false()
        ).where(profiles.c.author.not_in(select(peers.c.id)))
        with self._read() as conn:
            rows = list(conn.execute(met)) + list(conn.execute(only_known))
        return [PeerRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def names(self) -> dict[bytes, str]:
        """Display names: from the roster where the class has one (a pending identity's
        claimed name is marked so), otherwise from the latest profile of each author."""
        with self._read() as conn:
            names = {
                row.author: row.name
                for row in conn.execute(select(profiles.c.author, profiles.c.name))
            }
            if self._reader is None:
                return names
            roster = load_roster(conn, self._reader.instructor)
        if not roster.rostered:
            return names
        shown = {peer: f"{name} (not in the roster)" for peer, name in names.items()}
        suffix = {"member": "", "pending": " (pending)", "removed": " (removed)"}
        for entry in roster.entries.values():
            shown[entry.peer_id] = entry.name + suffix[entry.state]
        return shown

    def record_invite(self, hashed_token: bytes, name: str) -> None:
        """Remember a one-student invite this (instructor's) peer made: local, never synced."""
        with self._write(durable=True) as conn:
            conn.execute(
                insert(invites).values(token_hash=hashed_token, name=name, created_at=now_ms())
            )

    def roster(self) -> Roster | None:
        """The class roster (None without a reader: the instructor key is not known)."""
        if self._reader is None:
            return None
        with self._read() as conn:
            return load_roster(conn, self._reader.instructor)

    def roster_state(self, peer_id: bytes) -> str | None:
        """``member``, ``pending`` or ``removed`` for ``peer_id``; None where the roster does
        not know it. In a class with no roster yet (made before rosters), everyone but the
        removed is ``member``. Cheap: for the network's session checks."""
        roster = self.roster()
        if roster is None:
            return None
        state = roster.state(peer_id)
        if not roster.rostered and state is None:
            return "member"
        return state

    def read(self) -> Any:
        """A read transaction for query modules (``storage.queries``)."""
        return self._read()


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
