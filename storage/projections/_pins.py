"""Removal pins in the projections (DESIGN §10, issue 18).

A ``remove`` names the removed author's head as the remover held it (``until``). That
author's events past the pin are stored (its log stays one hash chain, so sync does not ask
for them again and again) but never projected: no chat, problem, submission, feedback, share
or checkpoint of theirs past the pin reaches a query, whoever relayed it and whatever its
``ts``. Events that arrived before the removal are taken out of the projections when it
arrives, so every peer ends with the same rows whatever the order of arrival. A later admit
of the same identity lifts the pin: what it hid is projected again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Table, delete, select

from peer.errors import ValidationError
from peer.log import Event, decode_event
from storage._reader import reader_of
from storage.projections._roster import load_roster, project_roster
from storage.schema import PROJECTION_TABLES, checkpoint_heads, content_keys, events, roster

Projector = Callable[[Connection, Event], None]


def pins_now(conn: Connection) -> dict[bytes, int]:
    """Removed author -> the last seq of theirs that counts, as this store's roster says."""
    reader = reader_of(conn)
    if reader is None:
        return {}
    any_pin = select(roster.c.event_id).where(roster.c.until_seq.is_not(None)).limit(1)
    if conn.execute(any_pin).first() is None:
        return {}  # the common case, kept to one indexed look-up
    return load_roster(conn, reader.instructor).pins()


class PinFilter:
    """Says which events a run of projections must leave out; looks the pins up again after
    a roster event (a rebuild replays removals between the events they pin)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pins: dict[bytes, int] | None = None

    def skips(self, event: Event) -> bool:
        if self._pins is None:
            self._pins = pins_now(self._conn)
        pin = self._pins.get(event.author)
        return pin is not None and event.seq > pin

    def saw(self, event: Event) -> None:
        if event.kind == "roster":
            self._pins = None


def project_roster_pinned(conn: Connection, event: Event, project: Projector) -> None:
    """Project a roster event, then apply what it did to the pins: hide a newly pinned
    author's events past the pin; project again what a lifted (or later) pin had hidden."""
    before = pins_now(conn)
    project_roster(conn, event)
    after = pins_now(conn)
    for peer in before.keys() | after.keys():
        old, new = before.get(peer), after.get(peer)
        if old == new:
            continue
        if new is not None and (old is None or new < old):
            _hide_after(conn, peer, new)
        if old is not None and (new is None or new > old):
            _replay(conn, peer, old, new, event, project)


def _hide_after(conn: Connection, peer: bytes, seq: int) -> None:
    """Take ``peer``'s events past ``seq`` out of every projection table."""
    later = select(events.c.id).where(events.c.author == peer, events.c.seq > seq)
    for table in PROJECTION_TABLES:
        if table is content_keys:
            continue  # keys of what we may read; nothing is shown from them alone
        if table is checkpoint_heads:  # its author/seq are the covered log, not the witness
            cols = table.c
            conn.execute(delete(table).where(cols.witness == peer, cols.witness_seq > seq))
        elif _has(table, "author") and _has(table, "seq"):
            conn.execute(delete(table).where(table.c.author == peer, table.c.seq > seq))
        elif _has(table, "event_id"):
            conn.execute(delete(table).where(table.c.event_id.in_(later)))


def _has(table: Table, column: str) -> bool:
    return column in table.c


def _replay(
    conn: Connection,
    peer: bytes,
    old: int,
    new: int | None,
    trigger: Event,
    project: Projector,
) -> None:
    """Project ``peer``'s stored events in (old, new] that arrived before ``trigger`` (in a
    rebuild, later ones are still to be replayed in their turn)."""
    bound = conn.execute(select(events.c.local_id).where(events.c.id == trigger.id)).scalar()
    query = select(events.c.raw).where(events.c.author == peer, events.c.seq > old)
    if new is not None:
        query = query.where(events.c.seq <= new)
    if bound is not None:
        query = query.where(events.c.local_id < bound)
    for raw in list(conn.execute(query.order_by(events.c.seq)).scalars()):
        try:
            project(conn, decode_event(raw))
        except ValidationError:
            continue  # refused as it would have been at receipt
