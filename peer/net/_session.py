"""The Trio driver of one connection's sync and gossip: every decision is the sans-IO
:class:`SyncMachine`'s (:mod:`_sync`); this module only reads frames, ingests through the
store, sends, and waits.

Three tasks: the reader feeds received messages to the machine (batches of events go to the
ingest task through a small channel, so a slow store slows the reader and, by TCP, the
sender); the ingester stores them and tells the machine what happened; the sender carries out
what the machine's ``poll`` returns. Nothing queues up in memory beyond a few frames.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs
import trio

from peer.errors import ProtocolError
from peer.net._config import NodeConfig
from peer.net._framed import FramedStream
from peer.net._gossip import Gossip
from peer.net._sync import (
    Action,
    AddressesHeard,
    Close,
    Closed,
    ForkSeen,
    Ingest,
    IngestOutcome,
    OwnLogAhead,
    Push,
    ReadStored,
    Send,
    Serve,
    SyncMachine,
    Wait,
)
from peer.net._wire import BATCH_BYTES, Bye, Events, Message
from storage import AsyncStore, IngestResult

log = logging.getLogger("peerclass.session")

#: Received frames waiting for the store (each at most MAX_FRAME bytes), and how many events
#: one store transaction may take from them.
INGEST_QUEUE = 4
INGEST_MAX = 5000

_CONNECTION_ERRORS = (ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


@attrs.define
class SessionStats:
    """What one session did, for the node and the tests: whether a dial ended in a real
    session (``messages_received``) decides the redial backoff; duplicates measure gossip."""

    events_sent: int = 0
    events_stored: int = 0
    duplicates: int = 0
    #: Messages received other than a goodbye: none means the other side refused us.
    messages_received: int = 0


def outcome_of(result: IngestResult, *, pushed: bool) -> IngestOutcome:
    """The machine's view of an ingest result (per author, the last event stored), so the
    machine never sees the store's types. Duplicate authors count only for pushed batches:
    a pushed duplicate means another path delivered first, which is what prunes a link."""
    stored: dict[bytes, tuple[int, bytes]] = {}
    for ev in result.stored:
        stored[ev.author] = (ev.seq, ev.id)
    duplicated: frozenset[bytes] = frozenset()
    if pushed and result.duplicates:
        duplicated = frozenset(a for a in result.seen if a not in stored and a not in result.gaps)
    return IngestOutcome(
        stored=stored,
        stored_count=len(result.stored),
        duplicates=result.duplicates,
        gaps=result.gaps,
        rejected=result.rejected,
        seen=result.seen,
        pushed=pushed,
        duplicate_authors=duplicated,
    )


@attrs.define(eq=False)
class Session:
    """The protocol of one connection after the handshake: the thin Trio driver of one
    :class:`SyncMachine`, so that every decision stays testable without I/O.

    The node makes one per connection and calls ``run`` in that connection's task; its
    methods ``close`` and ``request_sync`` are safe to call from other tasks at any time
    (before ``run`` too). The session never closes ``framed``: the node does, once ``run``
    returned, so a goodbye can be sent first.
    """

    framed: FramedStream
    store: AsyncStore
    remote_id: bytes
    label: str
    #: The node-wide gossip state shared by all connections (a private one if not given).
    gossip: Gossip | None = None
    #: The node's configuration: the session reads its send and goodbye timeouts and the
    #: sync machine's timings (``config.sync``) from it.
    config: NodeConfig = attrs.field(factory=NodeConfig)
    #: Told when the other side holds more of our own log than we do (a copied data dir).
    on_own_log_ahead: Callable[[int], None] | None = None
    #: Whether the other side takes peer exchange (its ``Hello`` named the feature), and
    #: whom to tell the records it passes on (the node verifies them).
    pex: bool = False
    on_addresses: Callable[[bytes, list[bytes]], None] | None = None
    #: Told by which ways the other side hears us (its ``addrs`` frame said so).
    on_hears: Callable[[bytes, dict[str, bool]], None] | None = None
    stats: SessionStats = attrs.field(factory=SessionStats)
    machine: SyncMachine | None = None
    _wake: trio.Event = attrs.field(factory=trio.Event)
    _pending_close: str | None = None
    _pending_sync: bool = False
    _pending_addrs: tuple[list[bytes], dict[str, bool] | None] | None = None

    def offer_addresses(self, records: list[bytes], hears: dict[str, bool] | None = None) -> None:
        """Pass these signed address records on (peer exchange), with by which ways we hear
        the other side, if it takes them; safe from any task at any time, as
        :meth:`request_sync`."""
        if not self.pex or (not records and hears is None):
            return
        if self.machine is None:
            self._pending_addrs = records, hears
        else:
            self.machine.offer_addresses(records, hears)
        self._wake.set()

    def request_sync(self) -> None:
        """Send our whole version vector again (periodic anti-entropy)."""
        if self.machine is None:
            self._pending_sync = True
        else:
            self.machine.request_sync()
        self._wake.set()

    def close(self, reason: str) -> None:
        """Say goodbye with ``reason`` and end the session."""
        if self.machine is None:
            self._pending_close = reason
        else:
            self.machine.close(reason)
        self._wake.set()

    async def run(self) -> None:
        """Run until the connection ends; a broken connection raises ProtocolError or
        trio's Broken/ClosedResourceError itself (not wrapped in an exception group)."""
        gossip = self.gossip if self.gossip is not None else Gossip(own_id=b"")
        cursor = self.store.watch.max_local_id
        gossip.merge(await self.store.vector())
        gossip.set_fork_points(await self.store.fork_points())
        machine = SyncMachine(gossip, trio.current_time(), cursor, self.config.sync)
        self.machine = machine
        if self._pending_close is not None:
            machine.close(self._pending_close)
        if self._pending_addrs is not None:
            machine.offer_addresses(*self._pending_addrs)
        send_batch, receive_batch = trio.open_memory_channel[tuple[list[bytes], bool]](INGEST_QUEUE)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read_loop, machine, send_batch, nursery.cancel_scope)
                nursery.start_soon(self._ingest_loop, machine, gossip, receive_batch)
                nursery.start_soon(self._send_loop, machine, nursery.cancel_scope)
        except BaseExceptionGroup as group:
            failed, other = group.split(_CONNECTION_ERRORS)
            if failed is None or (other is not None and other.split(trio.Cancelled)[1]):
                raise  # not (only) this connection failing
            # An outer cancellation that raced the failure is dropped; its scope stays cancelled.
            raise _first_leaf(failed) from None

    def _notice(self, action: Action) -> None:
        match action:
            case ForkSeen():
                log.warning(
                    "%s holds another event at %s#%d: fetching it as fork evidence",
                    self.label,
                    action.author.hex()[:8],
                    action.seq,
                )
            case OwnLogAhead():
                log.warning(
                    "%s holds our own log up to #%d, more than we do: this data dir was copied",
                    self.label,
                    action.seq,
                )
                if self.on_own_log_ahead is not None:
                    self.on_own_log_ahead(action.seq)
            case AddressesHeard():
                if self.on_addresses is not None and action.records:
                    self.on_addresses(self.remote_id, action.records)
                if self.on_hears is not None and action.hears is not None:
                    self.on_hears(self.remote_id, action.hears)

    # ---- receiving -------------------------------------------------------------------

    async def _read_loop(
        self,
        machine: SyncMachine,
        to_ingest: trio.MemorySendChannel[tuple[list[bytes], bool]],
        scope: trio.CancelScope,
    ) -> None:
        async with to_ingest:
            while True:
                message: Message | None = None
                listening = trio.current_time()
                with trio.move_on_at(machine.idle_deadline(listening)) as idle:
                    message = await self.framed.receive()
                if idle.cancelled_caught:
                    # Raises if nothing was heard; else an ingest finished meanwhile.
                    machine.check_idle(trio.current_time(), listening)
                    continue
                if message is None:
                    log.info("%s closed the connection", self.label)
                    scope.cancel()
                    return
                if not isinstance(message, Bye):
                    self.stats.messages_received += 1
                for action in machine.received(message, trio.current_time()):
                    match action:
                        case Ingest():
                            await to_ingest.send((action.raws, action.pushed))
                        case Closed():
                            # Being refused by the class (issue 18: a removal, a revoked
                            # invite) is for the person at this terminal, not only the log.
                            refused = action.reason.startswith("removed from the class roster")
                            level = logging.WARNING if refused else logging.INFO
                            log.log(level, "%s said goodbye: %s", self.label, action.reason)
                            scope.cancel()
                            return
                        case _:
                            self._notice(action)
                self._wake.set()

    async def _ingest_loop(
        self,
        machine: SyncMachine,
        gossip: Gossip,
        batches: trio.MemoryReceiveChannel[tuple[list[bytes], bool]],
    ) -> None:
        carry: tuple[list[bytes], bool] | None = None
        async with batches:
            while True:
                if carry is None:
                    try:
                        carry = await batches.receive()
                    except trio.EndOfChannel:
                        return
                raws, pushed = carry
                carry = None
                # Frames that queued up while the last transaction ran go in one transaction
                # (pushed and requested frames apart: only pushed duplicates prune a link).
                while len(raws) < INGEST_MAX:
                    try:
                        more, more_pushed = batches.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    if more_pushed != pushed:
                        carry = (more, more_pushed)
                        break
                    raws = raws + more
                result = await self.store.ingest(raws)
                self._log_result(result)
                if result.fork_notes:
                    gossip.set_fork_points(await self.store.fork_points())
                self.stats.events_stored += len(result.stored)
                self.stats.duplicates += result.duplicates
                outcome = outcome_of(result, pushed=pushed)
                for action in machine.ingested(outcome, trio.current_time()):
                    self._notice(action)
                self._wake.set()

    def _log_result(self, result: IngestResult) -> None:
        for note in result.fork_notes[:5]:
            log.warning("fork evidence from %s: %s", self.label, note)
        for reason in result.rejected[:5]:
            log.warning("refused from %s: %s", self.label, reason)
        if result.gaps:
            log.info(
                "%s: gap in %d log(s), asking for the missing range", self.label, len(result.gaps)
            )

    # ---- sending ---------------------------------------------------------------------

    async def _send_loop(self, machine: SyncMachine, scope: trio.CancelScope) -> None:
        if self._pending_sync:
            machine.request_sync()
        while True:
            action = machine.poll(trio.current_time(), self.store.watch.max_local_id)
            match action:
                case Send():
                    await self._send(action.message)
                case Serve():
                    await self._serve(action)
                case Push():
                    raws = await self.store.raws(list(action.local_ids))
                    await self._send_events(raws, pushed=True)
                case ReadStored():
                    refs = await self.store.refs_after(action.after, self.config.batch_events)
                    up_to = refs[-1].local_id if refs else self.store.watch.max_local_id
                    machine.stored(refs, up_to, trio.current_time())
                case Close():
                    with trio.move_on_after(self.config.bye_timeout):
                        await self.framed.send(Bye(action.reason))
                    scope.cancel()
                    return
                case Wait():
                    await self._wait(action)

    async def _send(self, message: Message) -> None:
        """Send one frame; a peer that stops reading for long is dropped, not waited for."""
        timeout = self.config.send_timeout
        try:
            # Judged by progress (issue 21): only a slice of the frame untaken for the whole
            # timeout ends the connection, not a big catch-up frame that a busy reader takes
            # slowly (as the late joiner storing thousands of events does).
            await self.framed.send(message, stall_timeout=timeout)
        except trio.TooSlowError:
            raise ProtocolError(f"stopped reading for {timeout:.0f}s") from None

    async def _serve(self, serve: Serve) -> None:
        """Stream one author's range, in batches."""
        theirs = serve.after
        while theirs < serve.upto:
            limit = min(self.config.batch_events, serve.upto - theirs)
            raws = await self.store.events_range(serve.author, theirs, limit)
            if not raws:
                break
            await self._send_events(raws, pushed=False)
            theirs += len(raws)

    async def _send_events(self, raws: list[bytes], *, pushed: bool) -> None:
        """Send in frames under the size limit."""
        start, size = 0, 0
        for index, raw in enumerate(raws):
            if size + len(raw) > BATCH_BYTES and index > start:
                await self._send(Events(raws[start:index], pushed))
                start, size = index, 0
            size += len(raw) + 8
        await self._send(Events(raws[start:], pushed))
        self.stats.events_sent += len(raws)

    async def _wait(self, wait: Wait) -> None:
        """Sleep until the machine's wake-up time, new input, or new events in the store."""
        wake = self._wake = trio.Event()
        if self.store.watch.max_local_id > wait.store_beyond:
            return
        # One event for both: new input sets it, and so does the store growing (the watch sets
        # it at its next advance). No task per wait: this runs once per event sent or received.
        self.store.watch.wake_on_advance(wake)
        try:
            with trio.move_on_at(wait.until):
                await wake.wait()
        finally:
            self.store.watch.forget(wake)
