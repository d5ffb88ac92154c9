"""The peer's store: one SQLite file in WAL mode, opened (and migrated) per process.

Everything here is blocking and thread-safe: the running peer calls it through
``trio.to_thread.run_sync``; command-line tools call it directly. Writers take SQLite's write
lock up front (``BEGIN IMMEDIATE``), so the running peer and a ``peerclass chat send`` in
another process never interleave inside one author's log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import nacl.signing
from sqlalchemy import (
    Connection,
    Engine,
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
from peer import hlc
from peer.errors import UsageError, ValidationError
from peer.events import Event, decode_event, make_event
from storage import projections
from storage.schema import events, forks, heads, meta, peers, profiles

DB_FILE = "peerclass.db"
BUSY_TIMEOUT_MS = 15_000
_INSERT_EVENT = (
    "INSERT INTO events (author, seq, id, prev, ts, kind, raw, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


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


@attrs.frozen
class IngestResult:
    """What one batch of received events did to the store."""

    stored: tuple[Event, ...] = ()
    duplicates: int = 0
    gaps: Mapping[bytes, int] = attrs.field(factory=dict)  # author -> first seq we lack
    rejected: tuple[str, ...] = ()  # invalid events: whoever sent them misbehaved
    fork_notes: tuple[str, ...] = ()  # validly signed conflicting events (kept as evidence)
    #: author -> highest seq in the batch: the sender holds at least this much of each log.
    seen: Mapping[bytes, int] = attrs.field(factory=dict)

    @property
    def forks(self) -> int:
        """How many new forks this batch revealed."""
        return len(self.fork_notes)


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


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@attrs.define(eq=False)
class _Head:
    seq: int
    id: bytes | None
    ts: int
    forked: bool
    known: bool


class Store:
    """Blocking access to one peer's database; all methods are whole units of work."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write_lock = threading.Lock()

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Open (creating if needed) the store in ``data_dir`` and bring its schema to head."""
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(
            f"sqlite:///{data_dir / DB_FILE}",
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        store = cls(engine)
        store._migrate()
        return store

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
        with self._write_lock, self._engine.connect() as conn:
            conn = conn.execution_options(peerclass_write="full" if durable else "normal")
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    # ---- writing -------------------------------------------------------------------------

    def append(
        self, signing_key: nacl.signing.SigningKey, kind: str, body: Mapping[str, Any]
    ) -> Event:
        """Author an event as the next in our own log; durable before this returns."""
        author = bytes(signing_key.verify_key)
        with self._write(durable=True) as conn:
            head = _load_head(conn, author)
            if head.forked:
                raise UsageError("this peer's own log is marked forked; refusing to extend it")
            latest = conn.execute(
                select(func.max(heads.c.ts)).where(heads.c.ts < hlc.drift_limit())
            ).scalar()
            ts = hlc.next_ts(max(latest or 0, head.ts))
            ev = make_event(
                signing_key, seq=head.seq + 1, prev=head.id, ts=ts, kind=kind, body=body
            )
            projections.project(conn, ev)
            _insert_run(conn, [ev], head)
        return ev

    def ingest(self, raws: Sequence[bytes]) -> IngestResult:
        """Validate and store events received from other peers, in one transaction.

        Per author, the new events must continue its log: next seq, matching prev, later ts.
        A contiguous run is authenticated by its hash links plus the signature of its last
        event. Events already held are counted as duplicates; a validly signed second event
        for a seq we hold is recorded as a fork; a run that starts past our head is a gap.
        """
        rejected: list[str] = []
        by_author: dict[bytes, list[Event]] = {}
        for raw in raws:
            try:
                ev = decode_event(raw)
            except ValidationError as exc:
                rejected.append(str(exc))
                continue
            by_author.setdefault(ev.author, []).append(ev)
        seen = {a: max(e.seq for e in evs) for a, evs in by_author.items()}
        if not by_author:
            return IngestResult(rejected=tuple(rejected))
        stored: list[Event] = []
        gaps: dict[bytes, int] = {}
        fork_notes: list[str] = []
        duplicates = 0
        with self._write() as conn:
            for author, batch in by_author.items():
                outcome = _ingest_author(conn, author, batch)
                stored.extend(outcome.stored)
                duplicates += outcome.duplicates
                fork_notes.extend(outcome.fork_notes)
                rejected.extend(outcome.rejected)
                if outcome.gap is not None:
                    gaps[author] = outcome.gap
        return IngestResult(
            stored=tuple(stored),
            duplicates=duplicates,
            gaps=gaps,
            rejected=tuple(rejected),
            fork_notes=tuple(fork_notes),
            seen=seen,
        )

    def record_peer(self, peer_id: bytes, address: str | None, *, connected: bool) -> None:
        """Note that we met ``peer_id`` now, at ``address``, and whether we still are."""
        values = {"address": address, "last_seen": _now_ms(), "connected": connected}
        with self._write() as conn:
            done = conn.execute(update(peers).where(peers.c.id == peer_id).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(peers).values(id=peer_id, **values))

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
            select(events.c.local_id, events.c.author, events.c.seq, events.c.kind)
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
        """Display names from the latest profile of each author."""
        with self._read() as conn:
            return {
                row.author: row.name
                for row in conn.execute(select(profiles.c.author, profiles.c.name))
            }

    def read(self) -> Any:
        """A read transaction for query modules (``storage.queries``)."""
        return self._read()


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


# ---- the receive path ------------------------------------------------------------------


def _load_head(conn: Connection, author: bytes) -> _Head:
    row = conn.execute(
        select(heads.c.seq, heads.c.id, heads.c.ts, heads.c.forked).where(heads.c.author == author)
    ).first()
    if row is None:
        return _Head(0, None, 0, False, False)
    return _Head(row.seq, row.id, row.ts, bool(row.forked), True)


def _insert_run(conn: Connection, run: Sequence[Event], head: _Head) -> None:
    """Insert a validated contiguous run of one author's events and move its head."""
    now = _now_ms()
    conn.exec_driver_sql(
        _INSERT_EVENT,
        [(e.author, e.seq, e.id, e.prev, e.ts, e.kind, e.raw, now) for e in run],
    )
    last = run[-1]
    values = {"seq": last.seq, "id": last.id, "ts": last.ts}
    if head.known:
        conn.execute(update(heads).where(heads.c.author == last.author).values(**values))
    else:
        conn.execute(insert(heads).values(author=last.author, forked=False, **values))
    head.seq, head.id, head.ts, head.known = last.seq, last.id, last.ts, True


def _record_fork(conn: Connection, conflicting: Event, *, kept_id: bytes | None) -> bool:
    """Keep a validly signed conflicting event as evidence and mark its author forked."""
    exists = conn.execute(
        select(forks.c.rowid).where(forks.c.conflicting_id == conflicting.id)
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(forks).values(
            author=conflicting.author,
            seq=conflicting.seq,
            kept_id=kept_id,
            conflicting_id=conflicting.id,
            conflicting_raw=conflicting.raw,
            recorded_at=_now_ms(),
        )
    )
    conn.execute(update(heads).where(heads.c.author == conflicting.author).values(forked=True))
    return True


@attrs.define
class _AuthorOutcome:
    stored: list[Event] = attrs.Factory(list)
    duplicates: int = 0
    rejected: list[str] = attrs.Factory(list)
    fork_notes: list[str] = attrs.Factory(list)
    gap: int | None = None


def _ingest_author(conn: Connection, author: bytes, batch: list[Event]) -> _AuthorOutcome:
    """Store what ``batch`` (one author's events, in any order) adds to that author's log."""
    out = _AuthorOutcome()
    head = _load_head(conn, author)
    who = author.hex()[:8]
    run: list[Event] = []
    later: list[Event] = []  # a second event for a seq this batch already extends
    expect_seq, expect_prev, last_ts = head.seq + 1, head.id, head.ts
    for ev in sorted(batch, key=lambda e: e.seq):
        if ev.seq < expect_seq:
            later.append(ev)
            continue
        if ev.seq != expect_seq:
            # Past a gap (at our head, or inside this batch): the sender must fill it first.
            out.gap = expect_seq
            break
        if ev.prev != expect_prev:
            # Proof of a fork only if what it fails to follow is authentic: our stored head, or
            # a validly signed event of this batch. A tampered predecessor proves nothing.
            if ev.verify_signature() and (not run or run[-1].verify_signature()):
                _record_fork(conn, ev, kept_id=None)
                out.fork_notes.append(f"author {who} forked: #{ev.seq} does not follow our log")
            elif run:
                out.rejected.append(f"event {who}#{ev.seq} does not follow #{ev.seq - 1}")
            else:
                out.rejected.append(f"event {who}#{ev.seq} has a bad signature")
            break
        if ev.ts <= last_ts:
            out.rejected.append(f"event {who}#{ev.seq} has a ts earlier than its predecessor")
            break
        run.append(ev)
        expect_seq, expect_prev, last_ts = ev.seq + 1, ev.id, ev.ts
    accepted: list[Event] = []
    projector = projections.ProjectionBatch(conn)
    for ev in _authenticated_prefix(run, out):
        try:
            projector.add(ev)
        except ValidationError as exc:
            out.rejected.append(f"event {who}#{ev.seq} refused: {exc}")
            break
        accepted.append(ev)
    projector.flush()
    if accepted:
        _insert_run(conn, accepted, head)
        out.stored.extend(accepted)
    if out.gap is not None:
        out.gap = head.seq + 1  # the first seq we lack, whatever part of the run was refused
    for ev in later:
        _check_held(conn, ev, out)
    return out


def _authenticated_prefix(run: list[Event], out: _AuthorOutcome) -> list[Event]:
    """The run if its last signature holds (the hash links vouch for the rest); otherwise
    the longest prefix whose events each verify."""
    if not run or run[-1].verify_signature():
        return run
    for index, ev in enumerate(run):
        if not ev.verify_signature():
            out.rejected.append(f"event {ev.author.hex()[:8]}#{ev.seq} has a bad signature")
            return run[:index]
    return run


def _check_held(conn: Connection, ev: Event, out: _AuthorOutcome) -> None:
    """An event at a seq we already hold: a duplicate, or (if validly signed) a fork."""
    held = conn.execute(
        select(events.c.id).where(events.c.author == ev.author, events.c.seq == ev.seq)
    ).scalar()
    if held is None:
        return  # its seq was not stored after all (the run was cut short): not evidence of anything
    if held == ev.id:
        out.duplicates += 1
    elif not ev.verify_signature():
        out.rejected.append(f"event {ev.author.hex()[:8]}#{ev.seq} has a bad signature")
    elif _record_fork(conn, ev, kept_id=held):
        out.fork_notes.append(f"author {ev.author.hex()[:8]} forked at seq {ev.seq}")
    else:
        out.duplicates += 1
