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

_PROJECTORS: dict[str, Projector] = {}


def register_projector(kind: str, projector: Projector) -> None:
    _PROJECTORS[kind] = projector


def project(conn: Connection, event: Event) -> None:
    """Write the projection rows of ``event`` (inside the caller's transaction)."""
    projector = _PROJECTORS.get(event.kind)
    if projector is not None:
        projector(conn, event)


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


def _project_chat(conn: Connection, event: Event) -> None:
    # Chat is the bulk of a catch-up: a plain driver statement keeps this path fast.
    body = event.body
    conn.exec_driver_sql(
        _INSERT_MESSAGE,
        (
            event.id,
            event.author,
            event.seq,
            event.ts,
            body["room"],
            body.get("text", ""),
            body.get("reply_to"),
            body.get("to"),
            body.get("sealed"),
        ),
    )


register_projector("profile", _project_profile)
register_projector("chat", _project_chat)


def clear_all(conn: Connection) -> None:
    """Empty every projection table (before a rebuild)."""
    for table in PROJECTION_TABLES:
        conn.execute(delete(table))
