"""Small shared helpers for the core tests: event chains built in memory, tampering, polling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import msgpack
import nacl.signing
import trio

from peer.log import hlc
from peer.log._events import SIGNATURE_SIZE, Event, make_event
from storage import Store

#: A fixed, plausible HLC base so that in-memory chains are reproducible.
BASE_TS = hlc.from_ms(1_700_000_000_000)


def new_key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


def chain(
    key: nacl.signing.SigningKey,
    count: int,
    *,
    start: Event | None = None,
    ts: Iterable[int] | None = None,
    room: str = "general",
    text: str = "message",
) -> list[Event]:
    """``count`` chat events continuing ``start`` (or a new log), each ts later by default."""
    seq, prev, last_ts = (
        (1, None, BASE_TS) if start is None else (start.seq + 1, start.id, start.ts)
    )
    stamps = iter(ts) if ts is not None else None
    out = []
    for _ in range(count):
        stamp = next(stamps) if stamps is not None else last_ts + 1_000
        ev = make_event(
            key,
            seq=seq,
            prev=prev,
            ts=stamp,
            kind="chat",
            body={"room": room, "text": f"{text} {seq}"},
        )
        out.append(ev)
        seq, prev, last_ts = seq + 1, ev.id, stamp
    return out


def raws(events: Iterable[Event]) -> list[bytes]:
    return [e.raw for e in events]


def sign_fields(key: nacl.signing.SigningKey, fields: Any, *, canonical: bool = True) -> bytes:
    """Encode ``fields`` (canonically, or exactly as given) and sign them: bypasses validation."""
    from peer.log._codec import pack

    signed = pack(fields) if canonical else msgpack.packb(fields, use_bin_type=True)
    return bytes(signed + key.sign(signed).signature)


def bad_signature(raw: bytes) -> bytes:
    """``raw`` with one bit of its signature flipped."""
    return raw[:-1] + bytes([raw[-1] ^ 0x01])


def all_events(store: Store) -> list[bytes]:
    """Every raw event in ``store``, per author in seq order."""
    out = []
    for author in sorted(store.heads()):
        out.extend(store.events_range(author, 0, 1_000_000))
    return out


def open_store(path: Path) -> Store:
    return Store.open(path)


async def wait_for(condition: Callable[[], Awaitable[bool]], *, interval: float = 0.02) -> None:
    """Poll an async condition until true; callers bound it with ``trio.fail_after``."""
    while not await condition():  # noqa: ASYNC110 (the conditions live in other threads/processes)
        await trio.sleep(interval)


__all__ = [
    "BASE_TS",
    "SIGNATURE_SIZE",
    "all_events",
    "bad_signature",
    "chain",
    "new_key",
    "open_store",
    "raws",
    "sign_fields",
    "wait_for",
]
