"""Projections: query tables derived from events, written in the event's own transaction.

Each kind registers one function that checks, then writes, its rows (a refusal must come
before any write, since no savepoint guards it); ``rebuild`` replays every stored event,
so the projections can always be thrown away and made again from the logs.
A projector may raise ValidationError to refuse an event that breaks a rule about its author's
own earlier events (which every peer holds, because logs arrive in order); rules that involve
other authors' events are applied when querying, so all peers reach the same answers.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, delete, insert, select, update

from peer.events import Event
from storage.schema import PROJECTION_TABLES, profiles

Projector = Callable[[Connection, Event], None]
RowMaker = Callable[[Event], tuple[object, ...]]

_PROJECTORS: dict[str, Projector] = {}
_BULK: dict[str, tuple[str, RowMaker]] = {}


def register_projector(kind: str, projector: Projector) -> None:
    _PROJECTORS[kind] = projector


def register_bulk_projector(kind: str, sql: str, row: RowMaker) -> None:
    """A kind whose projection is one row of ``sql`` per event, with no checks: received
    runs of it are inserted with one executemany (the bulk of a catch-up is chat)."""
    _BULK[kind] = (sql, row)


def project(conn: Connection, event: Event) -> None:
    """Write the projection rows of ``event`` (inside the caller's transaction)."""
    bulk = _BULK.get(event.kind)
    if bulk is not None:
        conn.exec_driver_sql(bulk[0], bulk[1](event))
        return
    projector = _PROJECTORS.get(event.kind)
    if projector is not None:
        projector(conn, event)


class ProjectionBatch:
    """Projects a run of events, batching bulk kinds; a checked kind flushes the batch first
    so its checks see every earlier event of the run."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending: dict[str, list[tuple[object, ...]]] = {}

    def add(self, event: Event) -> None:
        """Project ``event``; ValidationError (from a checked kind) leaves nothing written."""
        bulk = _BULK.get(event.kind)
        if bulk is not None:
            self._pending.setdefault(bulk[0], []).append(bulk[1](event))
            return
        self.flush()
        project(self._conn, event)

    def flush(self) -> None:
        for sql, rows in self._pending.items():
            self._conn.exec_driver_sql(sql, rows)
        self._pending.clear()


def _project_profile(conn: Connection, event: Event) -> None:
    row = conn.execute(
        select(profiles.c.ts, profiles.c.seq).where(profiles.c.author == event.author)
    ).first()
    values = {
        "name": event.body["name"],
        "role": event.body["role"],
        "ts": event.ts,
        "seq": event.seq,
    }
    if row is None:
        conn.execute(insert(profiles).values(author=event.author, **values))
    elif (event.ts, event.seq) > (row.ts, row.seq):
        conn.execute(update(profiles).where(profiles.c.author == event.author).values(**values))


_INSERT_MESSAGE = (
    "INSERT INTO messages (event_id, author, seq, ts, room, text, reply_to, recipient, sealed) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _chat_row(event: Event) -> tuple[object, ...]:
    body = event.body
    return (
        event.id,
        event.author,
        event.seq,
        event.ts,
        body["room"],
        body.get("text", ""),
        body.get("reply_to"),
        body.get("to"),
        body.get("sealed"),
    )


register_projector("profile", _project_profile)
register_bulk_projector("chat", _INSERT_MESSAGE, _chat_row)


def clear_all(conn: Connection) -> None:
    """Empty every projection table (before a rebuild)."""
    for table in PROJECTION_TABLES:
        conn.execute(delete(table))


# The curriculum's projectors register themselves; importing them here means every process
# that stores events projects them.
from storage import curriculum  # noqa: E402,F401
