"""The cursor reads: version vectors, forks, and events by cursor, author range or id.

These are what the gossip, the console and the commands page through; none of them writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from sqlalchemy import case, func, select

from peer.errors import UsageError
from peer.log import Event, decode_event
from storage._store_base import StoreBase
from storage.schema import events, forks, heads


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


class CursorReads(StoreBase):
    """Reads of the logs themselves (not of the projections)."""

    def heads(self) -> dict[bytes, int]:
        """The version vector (author -> last seq held): what a peer tells another so it
        sends only what is missing."""
        with self._read() as conn:
            return {
                row.author: row.seq for row in conn.execute(select(heads.c.author, heads.c.seq))
            }

    def vector(self) -> dict[bytes, tuple[int, bytes]]:
        """The version vector with head ids (author -> (last seq, its id)): two peers with the
        same seq may still hold different logs (a fork), and the id tells them apart."""
        with self._read() as conn:
            rows = conn.execute(select(heads.c.author, heads.c.seq, heads.c.id))
            return {row.author: (row.seq, row.id) for row in rows}

    def fork_points(self) -> dict[bytes, int]:
        """Forked author -> the first seq where two signed versions of its log may differ, so
        a sync can resend from there instead of from the start.

        A second event for a seq we hold forks at that seq; an event whose ``prev`` fails our
        head (recorded without ``kept_id``) shows the logs parted at its predecessor already.
        """
        point = func.min(case((forks.c.kept_id.is_(None), forks.c.seq - 1), else_=forks.c.seq))
        query = select(forks.c.author, point).group_by(forks.c.author)
        with self._read() as conn:
            return {row[0]: max(1, int(row[1])) for row in conn.execute(query)}

    def forked_authors(self) -> set[bytes]:
        """Authors caught signing two versions of their log: ``peers`` and the pages warn about
        them, since what they wrote may differ from peer to peer."""
        with self._read() as conn:
            rows = conn.execute(select(heads.c.author).where(heads.c.forked.is_(True)))
            return {row.author for row in rows}

    def fork_count(self) -> int:
        """How many fork proofs are kept: ``status`` reports it without loading them."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(forks)).scalar_one())

    def event_count(self) -> int:
        """How many events are stored: for ``status`` and the benchmarks' checks, a count without
        reading the events."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    def max_local_id(self) -> int:
        """The newest cursor position: a follower starts here to see only what comes next."""
        with self._read() as conn:
            return int(conn.execute(select(func.max(events.c.local_id))).scalar() or 0)

    def events_after(self, local_id: int, limit: int) -> list[StoredEvent]:
        """Events stored after cursor ``local_id``, in the order they were stored: a follower
        pages through arrivals without missing or repeating one."""
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
        """The bytes of the given events, in the order given: the second half of
        :meth:`refs_after`, for just the events that must be sent."""
        found: dict[int, bytes] = {}
        with self._read() as conn:
            for start in range(0, len(local_ids), 500):
                chunk = local_ids[start : start + 500]
                query = select(events.c.local_id, events.c.raw).where(events.c.local_id.in_(chunk))
                found.update((row[0], row[1]) for row in conn.execute(query).all())
        return [found[i] for i in local_ids]

    def events_range(self, author: bytes, after_seq: int, limit: int) -> list[bytes]:
        """Up to ``limit`` raw events of ``author`` with seq > ``after_seq``, in seq order:
        what a catch-up sends to fill a peer's gap in one log, a page at a time."""
        query = (
            select(events.c.raw)
            .where(events.c.author == author, events.c.seq > after_seq)
            .order_by(events.c.seq)
            .limit(limit)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars().all())

    def event_by_id(self, event_id: bytes) -> Event | None:
        """The event with this id, decoded, or None: commands check an event's author and kind
        before they act on it (only one's own problem may be revised)."""
        with self._read() as conn:
            raw = conn.execute(select(events.c.raw).where(events.c.id == event_id)).scalar()
        return None if raw is None else decode_event(raw)

    def resolve_prefix(self, prefix: str, *, kind: str | None = None) -> bytes:
        """The one event id starting with hex ``prefix`` (8+ digits), or a clear UsageError:
        people type short ids, and an ambiguous or unknown one must not pick a wrong event."""
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
