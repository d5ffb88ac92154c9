"""Projections: query tables derived from events, written in the event's own transaction.

Each kind has one function that checks, then writes, its rows (a refusal must come before
any write, since no savepoint guards it); a rebuild replays every stored event, so the
projections can always be thrown away and made again from the logs. A projector may raise
ValidationError to refuse an event that breaks a rule about its author's own earlier events
(which every peer holds, because logs arrive in order); rules that involve other authors'
events are applied when querying, so all peers reach the same answers.

The tables below are the whole dispatch: a kind missing here is stored but not projected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, delete

from peer.log import Event, hlc
from storage.projections._chat import INSERT_MESSAGE, chat_row, project_profile
from storage.projections._chat_text import clear_chat_text, project_announcements, project_revision
from storage.projections._chat_text import index_chat_text as index_chat_text
from storage.projections._curriculum import (
    count_attempts,
    project_feedback,
    project_problem,
    project_submission,
)
from storage.projections._pins import PinFilter as PinFilter
from storage.projections._pins import pins_now as pins_now
from storage.projections._pins import project_roster_pinned
from storage.projections._roster import STAFF_ROLES as STAFF_ROLES
from storage.projections._roster import Roster as Roster
from storage.projections._roster import RosterEntry as RosterEntry
from storage.projections._roster import load_roster as load_roster
from storage.projections._roster import project_join
from storage.projections._roster import token_hash as token_hash
from storage.projections._sealed import known_key as known_key
from storage.projections._sealed import project_share
from storage.projections._sealed import seal_outgoing as seal_outgoing
from storage.projections._term import project_extension
from storage.projections._witness import project_checkpoint, project_settings
from storage.schema import PROJECTION_TABLES

__all__ = ["ProjectionBatch", "clear_all", "count_attempts", "project"]

Projector = Callable[[Connection, Event], None]
#: A bulk row is made from the event and when it arrived here (wall-clock milliseconds).
RowMaker = Callable[[Event, int], tuple[object, ...]]

#: Kinds whose projection checks the author's earlier events, then writes.
_PROJECTORS: dict[str, Projector] = {
    "profile": project_profile,
    "problem": project_problem,
    "submission": project_submission,
    "feedback": project_feedback,
    # A removal pins the removed author's log (issue 18): see ``_pins``.
    "roster": lambda conn, event: project_roster_pinned(conn, event, project),
    "join": project_join,
    "share": project_share,
    "edit": project_revision,
    "delete": project_revision,
    "extension": project_extension,
    "checkpoint": project_checkpoint,
    "settings": project_settings,
}
#: Kinds whose projection is one row of an INSERT per event, with no checks: received runs of
#: them are inserted with one executemany (the bulk of a catch-up is chat).
_BULK: dict[str, tuple[str, RowMaker]] = {
    "chat": (INSERT_MESSAGE, chat_row),
}
#: What bulk kinds add after their rows, a run at a time: chat's announcements. (Chat's search
#: index follows the ``events`` table instead: ``index_chat_text``.)
_AFTER_BULK: dict[str, Callable[[Connection, Sequence[Event]], None]] = {
    "chat": project_announcements,
}


def project(conn: Connection, event: Event, arrived_ms: int | None = None) -> None:
    """Write the projection rows of ``event`` (inside the caller's transaction);
    ``arrived_ms``: when it arrived here (a rebuild passes the stored time), default now."""
    bulk = _BULK.get(event.kind)
    if bulk is not None:
        arrived = hlc.wall_ms() if arrived_ms is None else arrived_ms
        conn.exec_driver_sql(bulk[0], bulk[1](event, arrived))
        after = _AFTER_BULK.get(event.kind)
        if after is not None:
            after(conn, [event])
        return
    projector = _PROJECTORS.get(event.kind)
    if projector is not None:
        projector(conn, event)


class ProjectionBatch:
    """Projects a run of events, batching bulk kinds; a checked kind flushes the batch first
    so its checks see every earlier event of the run."""

    def __init__(self, conn: Connection, arrived_ms: int) -> None:
        self._conn = conn
        self._arrived_ms = arrived_ms  # a batch is what arrived together (stored with it)
        self._pending: dict[str, list[tuple[object, ...]]] = {}
        self._after: dict[str, list[Event]] = {}

    def add(self, event: Event) -> None:
        """Project ``event``; ValidationError (from a checked kind) leaves nothing written."""
        bulk = _BULK.get(event.kind)
        if bulk is not None:
            self._pending.setdefault(bulk[0], []).append(bulk[1](event, self._arrived_ms))
            if event.kind in _AFTER_BULK:
                self._after.setdefault(event.kind, []).append(event)
            return
        self.flush()
        project(self._conn, event, self._arrived_ms)

    def flush(self) -> None:
        for sql, rows in self._pending.items():
            self._conn.exec_driver_sql(sql, rows)
        self._pending.clear()
        for kind, events in self._after.items():
            _AFTER_BULK[kind](self._conn, events)
        self._after.clear()


def clear_all(conn: Connection) -> None:
    """Empty every projection table (before a rebuild)."""
    for table in PROJECTION_TABLES:
        conn.execute(delete(table))
    clear_chat_text(conn)
