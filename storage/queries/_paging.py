"""Keyset pages of a listing ordered by ``(ts, author, seq)``: the newest N, those before a
given row, those since a time. A page is a range scan on an index in that order (``LIMIT``
after a key, never ``OFFSET``), so its cost does not grow with the history."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any, TypeVar

import attrs
from sqlalchemy import Connection, Select, Table, select, tuple_

from peer.errors import UsageError

T = TypeVar("T")

#: Where a row sits in the order.
Key = tuple[int, bytes, int]


@attrs.frozen
class Paging:
    """Which part of a listing to read; the default is all of it."""

    limit: int | None = None  # only the newest this many
    before: bytes | None = None  # only rows before the one with this event id
    since: int | None = None  # only rows with ts >= this HLC value

    def __attrs_post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must not be negative")


def order_of(table: Table) -> tuple[Any, Any, Any]:
    return (table.c.ts, table.c.author, table.c.seq)


def key_of(conn: Connection, table: Table, event_id: bytes, what: str) -> Key:
    """The position of row ``event_id`` of ``table``; UsageError naming ``what`` if absent."""
    query = select(*order_of(table)).where(table.c.event_id == event_id)
    row = conn.execute(query).first()
    if row is None:
        raise UsageError(f"no {what} has the id {event_id.hex()}")
    return (row[0], row[1], row[2])


def paged(query: Select[Any], table: Table, paging: Paging, end: Key | None) -> Select[Any]:
    """``query`` restricted to ``paging`` and ordered: newest first when only the newest are
    wanted (read them with :func:`newest`), oldest first otherwise."""
    order = order_of(table)
    if paging.since is not None:
        query = query.where(table.c.ts >= paging.since)
    if end is not None:
        # The plain ts bound lets SQLite narrow the range scan; the tuple makes it exact.
        query = query.where(table.c.ts <= end[0], tuple_(*order) < tuple_(*end))
    if paging.limit is not None:
        return query.order_by(*(c.desc() for c in order))
    return query.order_by(*order)


def newest(rows: Iterable[T], paging: Paging) -> list[T]:
    """The rows of a :func:`paged` query, oldest first, reading no more than the page."""
    if paging.limit is None:
        return list(rows)
    return list(islice(rows, paging.limit))[::-1]


#: The whole listing: no limit, no bounds.
EVERYTHING = Paging()
