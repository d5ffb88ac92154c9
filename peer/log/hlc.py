"""Hybrid logical clock timestamps: wall-clock milliseconds with a 16-bit logical counter.

Order survives clock skew: a new event is always later than everything its author has seen,
so a reply sorts after the message it answers even if the replier's clock is behind.
"""

from __future__ import annotations

import datetime as dt
import time

LOGICAL_BITS = 16
#: How far ahead of our own clock a timestamp we have seen may drag our clock.
MAX_DRIFT_MS = 60 * 60 * 1000


def wall_ms() -> int:
    """Milliseconds since the epoch on this machine's clock."""
    return time.time_ns() // 1_000_000


def from_ms(ms: int) -> int:
    """The earliest HLC value of wall-clock millisecond ``ms``."""
    return ms << LOGICAL_BITS


def to_ms(ts: int) -> int:
    """The wall-clock millisecond of HLC value ``ts``."""
    return ts >> LOGICAL_BITS


def drift_limit(now_ms: int | None = None) -> int:
    """HLC values above this are too far in the future to advance our clock."""
    return from_ms((wall_ms() if now_ms is None else now_ms) + MAX_DRIFT_MS)


def next_ts(latest_seen: int, now_ms: int | None = None) -> int:
    """A timestamp later than ``latest_seen`` and no earlier than the wall clock."""
    now = from_ms(wall_ms() if now_ms is None else now_ms)
    return max(now, latest_seen + 1)


def arrival_order(ts: int, arrived_ms: int) -> int:
    """Where an event stamped ``ts`` that arrived here at wall-clock ``arrived_ms`` sorts:
    at its own ``ts``, unless that claims more than :data:`MAX_DRIFT_MS` beyond its arrival
    (a clock that far ahead is wrong or lying): then at its arrival, so a message stamped in
    the year 2100 takes its place among the others instead of staying pinned below them."""
    return ts if to_ms(ts) <= arrived_ms + MAX_DRIFT_MS else from_ms(arrived_ms)


def iso_from_ts(ts: int | None) -> str | None:
    """An HLC timestamp as ISO 8601 UTC with milliseconds."""
    return None if ts is None else iso_from_ms(to_ms(ts))


def iso_from_ms(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
