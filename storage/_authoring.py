"""When this peer must not author: a live twin of its identity, or another peer holding more
of its own log than it does. Either way a new event would fork the log (issue 14), so
``Store.append`` refuses with the reason and how to fix it. Kept as ``meta`` rows so that
every process on the data dir (the running peer and the CLI) sees the same block."""

from __future__ import annotations

import json

from sqlalchemy import Connection, delete, insert, select

from storage._ingest import now_ms
from storage.schema import meta

TWIN_KEY = "authoring_blocked_twin"
ELSEWHERE_KEY = "own_log_elsewhere"


def _get(conn: Connection, key: str) -> dict[str, object] | None:
    value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    if value is None:
        return None
    try:
        found = json.loads(value)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _put(conn: Connection, key: str, value: dict[str, object]) -> None:
    conn.execute(delete(meta).where(meta.c.key == key))
    conn.execute(insert(meta).values(key=key, value=json.dumps(value)))


def block_for_twin(conn: Connection, reason: str, seconds: int) -> None:
    """Block authoring for ``seconds`` from now (renewed while the twin is seen)."""
    _put(conn, TWIN_KEY, {"reason": reason, "until_ms": now_ms() + seconds * 1000})


def note_own_log_elsewhere(conn: Connection, seq: int, reason: str) -> None:
    """Another peer holds our log up to ``seq``: block until ours reaches it."""
    current = _get(conn, ELSEWHERE_KEY)
    held = current.get("seq") if current else None
    if isinstance(held, int) and held >= seq:
        return
    _put(conn, ELSEWHERE_KEY, {"seq": seq, "reason": reason})


def authoring_block(conn: Connection, own_seq: int) -> str | None:
    """Why authoring is blocked now (given our own log's head seq), or None."""
    twin = _get(conn, TWIN_KEY)
    if twin is not None:
        until = twin.get("until_ms")
        if isinstance(until, int) and until > now_ms():
            return str(twin.get("reason"))
    elsewhere = _get(conn, ELSEWHERE_KEY)
    if elsewhere is not None:
        seq = elsewhere.get("seq")
        if isinstance(seq, int) and seq > own_seq:
            return str(elsewhere.get("reason"))
    return None
