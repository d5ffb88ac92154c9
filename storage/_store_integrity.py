"""Check and repair a data dir (issue 22): SQLite's own integrity check, every event's bytes,
signature and hash chain, and the projections against a rebuild from the logs; the local
secrets a backup carries (content keys, one-student invites) and the whole history.

Repairing never invents anything: a damaged event and the rest of its author's log after it
are dropped and that author's head moves back, so the next sync fetches them again from any
classmate (every event is signed, so their copy is as good as ours); the projections are
rebuilt from what remains. Dropping part of our own log blocks writing until it is back, as
when a connected peer shows it holds more of our log than we do.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import Connection, delete, insert, select, update

from peer.errors import ValidationError
from peer.log import decode_event
from storage import _authoring
from storage._store_base import StoreBase
from storage.schema import PROJECTION_TABLES, content_keys, events, heads, invites

_DB_FILE = "peerclass.db"


@attrs.frozen
class Damage:
    """``author``'s log is damaged from ``seq`` on (what is before it checked out)."""

    author: bytes
    seq: int
    reason: str

    def line(self) -> str:
        return f"log {self.author.hex()[:8]}: event #{self.seq} {self.reason}"


@attrs.frozen
class IntegrityReport:
    """What ``verify`` found: SQLite's complaints, damaged logs, projection tables that
    differ from a rebuild. ``lines`` is one line per problem (empty: all is well)."""

    sqlite: tuple[str, ...] = ()
    damaged: tuple[Damage, ...] = ()
    projections: tuple[str, ...] = ()
    events: int = 0

    @property
    def lines(self) -> list[str]:
        found = [f"sqlite: {m}" for m in self.sqlite]
        found += [d.line() for d in self.damaged]
        found += [f"projection {t}: differs from a rebuild from the logs" for t in self.projections]
        return found


class Integrity(StoreBase):
    """Verify, repair, and the secrets a backup takes along."""

    def verify(self) -> IntegrityReport:
        """Check everything; change nothing."""
        with self._read() as conn:
            sqlite = _sqlite_problems(conn)
            damaged, count = _chain_damage(conn)
        return IntegrityReport(
            tuple(sqlite), tuple(damaged), self._stale_projections(damaged), count
        )

    def repair(self, report: IntegrityReport) -> None:
        """Drop what ``report`` found damaged (refetched at the next sync) and rebuild the
        projections."""
        me = None if self._reader is None else self._reader.peer_id
        with self._write(durable=True) as conn:
            for damage in report.damaged:
                held = _drop_from(conn, damage)
                if damage.author == me:
                    # No seq we held may be written again: that would fork our log.
                    _authoring.note_own_log_elsewhere(
                        conn,
                        held,
                        "verify --repair dropped damaged events of this peer's own log; "
                        "run the peer so a classmate sends them back",
                    )
        self.rebuild_projections()  # type: ignore[attr-defined]

    # ---- what a backup carries -----------------------------------------------------------

    def local_secrets(self) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, str, int]]]:
        """The content keys this identity holds and the one-student invites it made."""
        with self._read() as conn:
            keys = [(bytes(r[0]), bytes(r[1])) for r in conn.execute(select(content_keys))]
            made = [(bytes(r[0]), str(r[1]), int(r[2])) for r in conn.execute(select(invites))]
        return keys, made

    def restore_secrets(
        self, keys: Iterable[tuple[bytes, bytes]], made: Iterable[tuple[bytes, str, int]]
    ) -> None:
        """Put back what :meth:`local_secrets` returned (before the history arrives, so the
        projections open with these keys)."""
        with self._write(durable=True) as conn:
            held = set(conn.execute(select(content_keys.c.event_id)).scalars())
            rows = [{"event_id": e, "key": k} for e, k in keys if e not in held]
            if rows:
                conn.execute(insert(content_keys), rows)
            known = set(conn.execute(select(invites.c.token_hash)).scalars())
            made_rows: list[dict[str, Any]] = [
                {"token_hash": h, "name": n, "created_at": c} for h, n, c in made if h not in known
            ]
            if made_rows:
                conn.execute(insert(invites), made_rows)

    def history(self) -> list[bytes]:
        """Every stored event, in store order (each author's in seq order)."""
        with self._read() as conn:
            return list(conn.execute(select(events.c.raw).order_by(events.c.local_id)).scalars())

    # ---- projections against a rebuild ---------------------------------------------------

    def _stale_projections(self, damaged: Sequence[Damage]) -> tuple[str, ...]:
        """Rebuild the projections in a copy of the database (without the damaged events)
        and name the tables whose rows differ from ours."""
        with self._read() as conn:
            ours = _digests(conn)
        with tempfile.TemporaryDirectory(prefix="peerclass-verify-") as tmp:
            with self._read() as conn, sqlite3.connect(Path(tmp) / _DB_FILE) as target:
                conn.connection.driver_connection.backup(target)  # type: ignore[union-attr]
            copy = type(self).open(Path(tmp), reader=self._reader)  # type: ignore[attr-defined]
            try:
                with copy._write() as conn:
                    for damage in damaged:
                        _drop_from(conn, damage)
                copy.rebuild_projections()
                with copy._read() as conn:
                    rebuilt = _digests(conn)
            finally:
                copy.close()
        return tuple(name for name, digest in ours.items() if rebuilt.get(name) != digest)


def _sqlite_problems(conn: Connection) -> list[str]:
    rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def _chain_damage(conn: Connection) -> tuple[list[Damage], int]:
    """Walk every log in seq order: bytes decode, hash to their id, carry their row's
    author and seq, follow the previous event, and are signed by their author; the head
    row names the last event."""
    head_of = {r.author: (r.seq, r.id) for r in conn.execute(select(heads))}
    found: list[Damage] = []
    count = 0
    author: bytes | None = None
    expect, prev, broken = 1, None, False
    last: dict[bytes, tuple[int, bytes]] = {}
    query = select(events.c.author, events.c.seq, events.c.id, events.c.raw)
    for row in conn.execute(query.order_by(events.c.author, events.c.seq)):
        count += 1
        if row.author != author:
            author, expect, prev, broken = row.author, 1, None, False
        if broken:
            continue
        reason = _event_problem(row, expect, prev)
        if reason is not None:
            found.append(Damage(row.author, min(row.seq, expect), reason))
            broken = True
            continue
        expect, prev = row.seq + 1, row.id
        last[row.author] = (row.seq, row.id)
    damaged = {d.author for d in found}
    for who, (seq, head_id) in head_of.items():
        if who not in damaged and last.get(who) != (seq, head_id):
            held = last.get(who, (0, b""))[0]
            found.append(Damage(who, held + 1, f"is named as the head but the log ends at #{held}"))
    return found, count


def _event_problem(row: Any, expect: int, prev: bytes | None) -> str | None:
    if row.seq != expect:
        return "is missing (the log skips it)"
    try:
        ev = decode_event(bytes(row.raw))
    except ValidationError as exc:
        return f"does not decode: {exc}"
    if ev.id != row.id:
        return "is damaged: its bytes do not hash to its id"
    if ev.author != row.author or ev.seq != row.seq:
        return "is filed under another author or seq than it carries"
    if ev.prev != prev:
        return "does not follow the event before it"
    if not ev.verify_signature():
        return "has a bad signature"
    return None


def _drop_from(conn: Connection, damage: Damage) -> int:
    """Drop ``damage.author``'s events from ``damage.seq`` on and move its head back;
    returns the seq its head was at before."""
    before = conn.execute(select(heads.c.seq).where(heads.c.author == damage.author)).scalar()
    held = max(int(before or 0), damage.seq)
    conn.execute(delete(events).where(events.c.author == damage.author, events.c.seq >= damage.seq))
    raw = conn.execute(
        select(events.c.raw)
        .where(events.c.author == damage.author)
        .order_by(events.c.seq.desc())
        .limit(1)
    ).scalar()
    if raw is None:
        conn.execute(delete(heads).where(heads.c.author == damage.author))
        return held
    ev = decode_event(raw)
    conn.execute(
        update(heads).where(heads.c.author == damage.author).values(seq=ev.seq, id=ev.id, ts=ev.ts)
    )
    return held


def _digests(conn: Connection) -> dict[str, bytes]:
    """A digest of each projection table's rows, whatever their order."""
    found = {}
    for table in PROJECTION_TABLES:
        rows = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
        found[table.name] = hashlib.blake2b("\n".join(rows).encode()).digest()
    return found
