"""Writes to the logs and their guards: authoring, receiving, and rebuilding projections.

Authoring is guarded: a peer must never extend its own log from a stale copy (a second
device, a restored backup), or it signs two events for one seq and forks itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import nacl.signing
from sqlalchemy import Connection, delete, func, insert, select

from peer.errors import UsageError
from peer.log import Event, decode_event, hlc, make_event
from storage import _authoring, projections
from storage._ingest import IngestResult, ingest, insert_run, load_head
from storage._notify import send_wakeup
from storage._store_base import StoreBase
from storage.projections import seal_outgoing
from storage.schema import events, heads, meta


class Writes(StoreBase):
    """Authoring our own events, storing others', and the authoring guards."""

    def append(
        self, signing_key: nacl.signing.SigningKey, kind: str, body: Mapping[str, Any]
    ) -> Event:
        """Author an event as the next in our own log; durable before this returns, since a
        lost one could have its seq reused (a fork)."""
        return self.append_many(signing_key, [(kind, body)])[0]

    def append_many(
        self, signing_key: nacl.signing.SigningKey, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[Event]:
        """Author several events, in order, in one durable transaction: lines typed faster
        than the disk syncs share one sync (group commit) instead of queueing behind it."""
        author = bytes(signing_key.verify_key)
        authored: list[Event] = []
        with self._write(durable=True) as conn:
            head = load_head(conn, author)
            if head.forked:
                raise UsageError("this peer's own log is marked forked; refusing to extend it")
            blocked = _authoring.authoring_block(conn, head.seq)
            if blocked is not None:
                raise UsageError(f"not saved: {blocked}")
            latest = conn.execute(
                select(func.max(heads.c.ts)).where(heads.c.ts < hlc.drift_limit())
            ).scalar()
            for kind, body in items:
                ts = hlc.next_ts(max(latest or 0, head.ts))
                sealed = seal_outgoing(conn, self._reader, author, kind, body)
                ev = make_event(
                    signing_key, seq=head.seq + 1, prev=head.id, ts=ts, kind=kind, body=sealed
                )
                projections.project(conn, ev)
                insert_run(conn, [ev], head)
                authored.append(ev)
            projections.index_chat_text(conn)  # chat search follows the stored events
        if self.notify_address is not None:
            send_wakeup(self.notify_address)
        return authored

    def ingest(self, raws: Sequence[bytes]) -> IngestResult:
        """Validate and store events received from other peers, in one transaction, so a
        batch with a bad event keeps the good ones and the logs stay gap-free
        (the receive path is :func:`storage._ingest.ingest`)."""
        return ingest(self._write, raws)

    def block_authoring(self, kind: str, reason: str, seconds: int) -> None:
        """Refuse to author for ``seconds`` (kind ``twin``: a live copy of our identity is on
        the network, and both writing would fork our log)."""
        assert kind == "twin"
        with self._write() as conn:
            _authoring.block_for_twin(conn, reason, seconds)

    def note_own_log_elsewhere(self, seq: int, reason: str) -> None:
        """Another peer holds our own log up to ``seq``: refuse to author until ours does, or
        our next event would reuse a seq already signed (a restored backup)."""
        with self._write() as conn:
            _authoring.note_own_log_elsewhere(conn, seq, reason)

    def authoring_block(self, author: bytes) -> str | None:
        """Why ``author`` (this data dir's identity) may not author now, or None: commands
        say so before the user types a long message that would not be saved."""
        with self._read() as conn:
            return _authoring.authoring_block(conn, load_head(conn, author).seq)

    def rebuild_projections(self) -> int:
        """Throw the projections away and replay every stored event; returns how many. The
        logs are the truth: a migration or a new reader identity changes what the derived
        tables should hold, and replaying is how they catch up."""
        count = 0
        with self._write() as conn:
            # Cleared in the rebuild's own transaction: a crash before it commits means the
            # next open rebuilds again.
            conn.execute(delete(meta).where(meta.c.key == "rebuild_projections"))
            self._record_reader(conn)  # projections hold what this reader can read
            projections.clear_all(conn)
            result = conn.execute(
                select(events.c.raw, events.c.received_at).order_by(events.c.local_id)
            )
            pins = projections.PinFilter(conn)  # removals pin their authors' logs (issue 18)
            for raw, received_at in result:
                ev = decode_event(raw)
                if not pins.skips(ev):
                    projections.project(conn, ev, received_at)  # chat sorts by arrival
                    pins.saw(ev)
                count += 1
            projections.index_chat_text(conn)
        return count

    def _record_reader(self, conn: Connection) -> None:
        wanted = "" if self._reader is None else self._reader.peer_id.hex()
        conn.execute(delete(meta).where(meta.c.key == "projection_reader"))
        conn.execute(insert(meta).values(key="projection_reader", value=wanted))
