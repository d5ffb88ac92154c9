"""Sync and gossip over one authenticated connection.

Both sides open by sending their version vector (``Have``); each streams what the other
lacks, in per-author seq order, in batches. After that, everything newly stored here (authored
or received) is pushed from a cursor over the store's insertion order, skipping what the other
side is known to hold. A gap is repaired by asking for the missing range; periodic
anti-entropy (a fresh ``Have``) repairs anything else. Backpressure is TCP's: a slow reader
slows our sender, and nothing queues up in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

import attrs
import trio

from peer.errors import ProtocolError
from peer.net._wire import (
    BATCH_BYTES,
    BATCH_EVENTS,
    VECTOR_CHUNK,
    Bye,
    Events,
    FramedStream,
    Have,
    Hello,
    Message,
    Ping,
)
from storage import AsyncStore, IngestResult

log = logging.getLogger("peerclass.session")

PING_INTERVAL = 10.0
IDLE_TIMEOUT = 35.0
#: A frame the other side does not take within this long closes the connection.
SEND_TIMEOUT = IDLE_TIMEOUT
#: The most authors a version vector (or a repair request) may name: far more than a class
#: has, few enough to bound what one connection can make us hold.
MAX_AUTHORS = 200_000
#: A peer asking for everything again is served at most this often (anti-entropy asks about
#: every ten seconds; a member spamming requests gets no more than this).
FULL_SERVE_INTERVAL = 3.0
#: Received frames waiting for the store (each at most MAX_FRAME bytes), and how many events
#: one store transaction may take from them.
INGEST_QUEUE = 4
INGEST_MAX = 5000
#: Don't ask the same peer for the same missing range more often than this.
GAP_RETRY = 2.0


_CONNECTION_ERRORS = (ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


@attrs.define
class SessionStats:
    events_sent: int = 0
    events_stored: int = 0
    duplicates: int = 0


@attrs.define(eq=False)
class Session:
    """The protocol of one connection after the handshake; ``run`` returns when it ends."""

    framed: FramedStream
    store: AsyncStore
    remote_id: bytes
    label: str
    forked: Callable[[], Awaitable[set[bytes]]] | None = None
    stats: SessionStats = attrs.field(factory=SessionStats)
    #: What we know the other side holds: author -> at least this seq.
    remote_known: dict[bytes, int] = attrs.field(factory=dict)
    _cursor: int | None = None
    #: What the other side asked for: everything it lacks, and/or these authors' logs from
    #: ``remote_known`` on. Bounded: repeated requests merge instead of queueing.
    _serve_all: bool = False
    _next_full_serve: float = 0.0
    _serve_authors: set[bytes] = attrs.field(factory=set)
    #: A vector arriving in several frames (``Have.more``), gathered until its last frame.
    _incoming: dict[bytes, int] = attrs.field(factory=dict)
    _our_have: Have | None = None
    _full_sync_wanted: bool = True
    _gap_asked: dict[bytes, tuple[int, float]] = attrs.field(factory=dict)
    _wake: trio.Event = attrs.field(factory=trio.Event)
    _closing_reason: str | None = None

    def request_sync(self) -> None:
        """Send our whole version vector again (periodic anti-entropy)."""
        self._full_sync_wanted = True
        self._wake.set()

    def close(self, reason: str) -> None:
        """Say goodbye with ``reason`` and end the session."""
        self._closing_reason = reason
        self._wake.set()

    async def run(self) -> None:
        """Run until the connection ends; a broken connection raises ProtocolError or
        trio's Broken/ClosedResourceError itself (not wrapped in an exception group)."""
        send_batch, receive_batch = trio.open_memory_channel[list[bytes]](INGEST_QUEUE)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read_loop, send_batch, nursery.cancel_scope)
                nursery.start_soon(self._ingest_loop, receive_batch)
                nursery.start_soon(self._send_loop, nursery.cancel_scope)
        except BaseExceptionGroup as group:
            failed, other = group.split(_CONNECTION_ERRORS)
            if failed is None or (other is not None and other.split(trio.Cancelled)[1]):
                raise  # not (only) this connection failing
            # An outer cancellation that raced the failure is dropped; its scope stays cancelled.
            raise _first_leaf(failed) from None

    # ---- receiving -------------------------------------------------------------------

    async def _read_loop(
        self, to_ingest: trio.MemorySendChannel[list[bytes]], scope: trio.CancelScope
    ) -> None:
        async with to_ingest:
            while True:
                with trio.move_on_after(IDLE_TIMEOUT) as idle:
                    message = await self.framed.receive()
                if idle.cancelled_caught:
                    raise ProtocolError(f"nothing heard for {IDLE_TIMEOUT:.0f}s")
                match message:
                    case None:
                        log.info("%s closed the connection", self.label)
                        scope.cancel()
                        return
                    case Have():
                        self._on_have(message)
                    case Events():
                        await to_ingest.send(message.events)
                    case Ping():
                        pass
                    case Bye():
                        log.info("%s said goodbye: %s", self.label, message.reason)
                        scope.cancel()
                        return
                    case Hello():
                        raise ProtocolError("unexpected hello after the handshake")

    def _on_have(self, have: Have) -> None:
        self._incoming.update(have.heads)
        if len(self._incoming) > MAX_AUTHORS:
            raise ProtocolError(f"version vector of more than {MAX_AUTHORS} authors")
        if have.more:
            return
        heads, self._incoming = self._incoming, {}
        if have.complete:
            # Its own word on everything it holds replaces our estimate (which a lost push may
            # have left too high); what was in flight meanwhile is merely sent twice.
            self.remote_known = dict(heads)
            self._serve_all = True
            if self._cursor is None:
                # Live pushes start here; everything up to here is served by this request.
                self._cursor = self.store.watch.max_local_id
        else:
            # A gap repair: it lacks what follows these seqs, whatever we believed.
            for author, seq in heads.items():
                self.remote_known[author] = seq
            self._serve_authors.update(heads)
            if len(self._serve_authors) > MAX_AUTHORS:
                raise ProtocolError(f"asked for more than {MAX_AUTHORS} logs at once")
        self._wake.set()

    async def _ingest_loop(self, batches: trio.MemoryReceiveChannel[list[bytes]]) -> None:
        async with batches:
            async for first in batches:
                raws = first
                # Frames that queued up while the last transaction ran go in one transaction.
                while len(raws) < INGEST_MAX:
                    try:
                        raws = raws + batches.receive_nowait()
                    except trio.WouldBlock:
                        break
                result = await self.store.ingest(raws)
                self._after_ingest(result)

    def _after_ingest(self, result: IngestResult) -> None:
        for author, seq in result.seen.items():
            if seq > self.remote_known.get(author, 0):
                self.remote_known[author] = seq
        self.stats.events_stored += len(result.stored)
        self.stats.duplicates += result.duplicates
        for note in result.fork_notes[:5]:
            log.warning("fork evidence from %s: %s", self.label, note)
        for reason in result.rejected[:5]:
            log.warning("refused from %s: %s", self.label, reason)
        if result.rejected:
            bad = result.rejected
            raise ProtocolError(f"sent {len(bad)} invalid event(s), e.g. {bad[0]}")
        now = trio.current_time()
        wanted = {}
        for author, first_missing in result.gaps.items():
            asked = self._gap_asked.get(author)
            if asked is None or asked[0] != first_missing or now - asked[1] > GAP_RETRY:
                self._gap_asked[author] = (first_missing, now)
                wanted[author] = first_missing - 1
        if wanted:
            log.info("%s: gap in %d log(s), asking for the missing range", self.label, len(wanted))
            self._our_have = Have(
                {**(self._our_have.heads if self._our_have else {}), **wanted}, complete=False
            )
            self._wake.set()

    # ---- sending ---------------------------------------------------------------------

    async def _send_loop(self, scope: trio.CancelScope) -> None:
        while True:
            if self._closing_reason is not None:
                with trio.move_on_after(2):
                    await self.framed.send(Bye(self._closing_reason))
                scope.cancel()
                return
            if self._full_sync_wanted:
                self._full_sync_wanted = False
                await self._send_vector(await self.store.heads(), complete=True)
            elif self._our_have is not None:
                have, self._our_have = self._our_have, None
                await self._send_vector(have.heads, complete=False)
            elif self._serve_authors or self._full_serve_due():
                await self._serve()
            elif not await self._push_new():
                await self._wait_for_work()

    async def _send(self, message: Message) -> None:
        """Send one frame; a peer that stops reading for long is dropped, not waited for."""
        try:
            with trio.fail_after(SEND_TIMEOUT):
                await self.framed.send(message)
        except trio.TooSlowError:
            raise ProtocolError(f"stopped reading for {SEND_TIMEOUT:.0f}s") from None

    async def _send_vector(self, heads: dict[bytes, int], *, complete: bool) -> None:
        """A version vector, in as many frames as its size needs."""
        items = sorted(heads.items())
        chunks = [items[i : i + VECTOR_CHUNK] for i in range(0, len(items), VECTOR_CHUNK)]
        chunks = chunks or [[]]
        for index, chunk in enumerate(chunks):
            await self._send(Have(dict(chunk), complete, more=index < len(chunks) - 1))

    async def _serve(self) -> None:
        """Stream every event we hold above what the other side is known to hold, for every
        author (after a full vector) or the authors it asked about (a gap repair)."""
        ours = await self.store.heads()
        if self._full_serve_due():
            authors: Iterable[bytes] = ours
            self._serve_all = False
            self._next_full_serve = trio.current_time() + FULL_SERVE_INTERVAL
        else:
            authors = [a for a in self._serve_authors if a in ours]
        self._serve_authors = set()
        skip = await self._forked()
        for author in authors:
            if author in skip:
                continue
            theirs = self.remote_known.get(author, 0)
            while theirs < ours[author]:
                raws = await self.store.events_range(author, theirs, BATCH_EVENTS)
                if not raws:
                    break
                await self._send_events(raws)
                theirs += len(raws)
                self.remote_known[author] = max(theirs, self.remote_known.get(author, 0))

    async def _push_new(self) -> bool:
        """Push what was stored since the cursor; False if there was nothing new."""
        if self._cursor is None or self.store.watch.max_local_id <= self._cursor:
            return False
        batch = await self.store.refs_after(self._cursor, BATCH_EVENTS)
        if not batch:
            return False
        self._cursor = batch[-1].local_id
        skip = await self._forked()
        wanted = []
        for ref in batch:
            if ref.author in skip or ref.seq <= self.remote_known.get(ref.author, 0):
                continue
            wanted.append(ref.local_id)
            self.remote_known[ref.author] = ref.seq
        if wanted:
            await self._send_events(await self.store.raws(wanted))
        return True

    async def _send_events(self, raws: list[bytes]) -> None:
        """Send in frames under the size limit."""
        start, size = 0, 0
        for index, raw in enumerate(raws):
            if size + len(raw) > BATCH_BYTES and index > start:
                await self._send(Events(raws[start:index]))
                start, size = index, 0
            size += len(raw) + 8
        await self._send(Events(raws[start:]))
        self.stats.events_sent += len(raws)

    async def _forked(self) -> set[bytes]:
        return set() if self.forked is None else await self.forked()

    def _full_serve_due(self) -> bool:
        return self._serve_all and trio.current_time() >= self._next_full_serve

    async def _wait_for_work(self) -> None:
        """Sleep until there is something to send; send a keep-alive if that takes long."""
        self._wake = trio.Event()
        if (
            self._serve_authors
            or self._full_serve_due()
            or self._our_have
            or self._full_sync_wanted
            or self._closing_reason
        ):
            return
        cursor = self._cursor
        wait = PING_INTERVAL
        if self._serve_all:  # asked again too soon: served when the interval is up
            wait = min(wait, self._next_full_serve - trio.current_time())
        with trio.move_on_after(wait) as timer:
            async with trio.open_nursery() as race:

                async def wake_on(waiter: Callable[[], Awaitable[None]]) -> None:
                    await waiter()
                    race.cancel_scope.cancel()

                race.start_soon(wake_on, self._wake.wait)
                if cursor is not None:
                    race.start_soon(wake_on, lambda: self.store.watch.wait_beyond(cursor))
        if timer.cancelled_caught and not self._serve_all:
            await self._send(Ping())
