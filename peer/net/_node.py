"""The running peer: one root nursery supervising discovery, listener, dialer, gossip and UI.

```
root
├── signals      SIGINT / SIGTERM start the staged shutdown (a second one cancels at once)
├── watch        notices events other processes append (the CLI)
├── anti-entropy asks a random connected peer to compare version vectors
├── strangers    closes sessions of identities that are not members after a grace period
├── ui           the console and/or web UI the caller passes in
└── connections  one task per connection (inbound or dialed)
    └── intake   discovery (beacon sender + receiver), listener, dialer
```
A failure inside one connection closes that connection only. Shutdown goes in stages, as
hypercorn's does: stop the intake (no new connections), say goodbye on every session within
a grace period, then cancel everything.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import logging
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence

import attrs
import trio

from peer.errors import HandshakeError, ProtocolError, StorageError
from peer.identity import Membership, short_id
from peer.net import _discovery as discovery
from peer.net._config import NodeConfig
from peer.net._exchange import MAX_ADDRESSES, AddressBook, encode_record
from peer.net._framed import FramedStream
from peer.net._gossip import Gossip
from peer.net._handshake import handshake
from peer.net._interfaces import broadcast_interfaces
from peer.net._reach import HEARD_WINDOW, Reach
from peer.net._redial import Outcome, Redial
from peer.net._session import Session
from peer.net._wire import FEATURE_PEX, MAX_ADDR_RECORDS, Bye
from storage import AsyncStore
from storage.queries import removal_note

log = logging.getLogger("peerclass.node")


@attrs.define(eq=False)
class Mesh:
    """Live sessions, one per remote peer: the one place that decides which of two
    connections between the same pair survives, and that tells the UI when the set changes
    (``changed`` is replaced on every change, so a waiter never misses one)."""

    own_id: bytes
    max_connections: int
    sessions: dict[bytes, tuple[Session, bytes]] = attrs.field(factory=dict)
    #: The listening address ("host:port") of each connected peer.
    addresses: dict[bytes, str] = attrs.field(factory=dict)
    changed: trio.Event = attrs.field(factory=trio.Event)
    #: What every connection's gossip shares (our heads, known forks, grafts in flight).
    gossip: Gossip = attrs.field(init=False)
    #: Called when a peer holds more of our own log than we do (a copy of our data dir).
    on_own_log_ahead: Callable[[int], None] | None = None

    def __attrs_post_init__(self) -> None:
        self.gossip = Gossip(self.own_id)

    def own_log_ahead(self, seq: int) -> None:
        """Passed to every session: a peer holds our own log beyond ours (a copied data dir),
        which the node must act on once, whichever connection saw it."""
        if self.on_own_log_ahead is not None:
            self.on_own_log_ahead(seq)

    def add(self, session: Session, dialer_id: bytes, address: str) -> str | None:
        """Register ``session``; a reason string if it must be refused instead.

        On a simultaneous dial both sides keep the connection dialed by the smaller peer id,
        so they agree without talking about it.
        """
        existing = self.sessions.get(session.remote_id)
        if existing is not None:
            keep_dialer = min(self.own_id, session.remote_id)
            if existing[1] == keep_dialer or dialer_id != keep_dialer:
                return "duplicate connection"
            existing[0].close("duplicate connection")
        elif len(self.sessions) >= self.max_connections:
            return "too many connections"
        self.sessions[session.remote_id] = (session, dialer_id)
        self.addresses[session.remote_id] = address
        self._signal()
        return None

    def remove(self, session: Session) -> None:
        """Forget ``session`` when it ends, unless a newer connection to the same peer has
        replaced it meanwhile (that one stays registered)."""
        current = self.sessions.get(session.remote_id)
        if current is not None and current[0] is session:
            del self.sessions[session.remote_id]
            del self.addresses[session.remote_id]
            self._signal()

    def connected(self) -> set[bytes]:
        """The peers with a live session now (a copy: safe to hold across an await)."""
        return set(self.sessions)

    def _signal(self) -> None:
        self.changed.set()
        self.changed = trio.Event()


@attrs.define(eq=False)
class Node:
    """One running peer: what its tasks share (mesh, discovery table, store, limits), and the
    supervisor that runs them in one nursery tree (see the module's tree).

    No nursery is kept on it: ``run`` owns them all, so cancelling ``run`` stops everything
    and nothing outlives it. Configured by a :class:`NodeConfig`; the store is reached only
    through ``store`` (an ``AsyncStore``), and the UI tasks are passed in, so this package
    never imports the command line or the web UI.
    """

    config: NodeConfig
    membership: Membership
    store: AsyncStore
    announce: Callable[[str], None]
    mesh: Mesh = attrs.field(init=False)
    table: discovery.PeerTable = attrs.field(factory=discovery.PeerTable)
    listen_port: int = 0
    _handshaking: trio.CapacityLimiter = attrs.field(init=False)
    _handshaking_from: collections.Counter[str] = attrs.field(factory=collections.Counter)
    #: This process among copies of the same identity, and when it started (beacons).
    instance: bytes = attrs.field(factory=lambda: os.urandom(discovery.INSTANCE_SIZE))
    started_ms: int = attrs.field(factory=lambda: int(time.time() * 1000))
    beacon_filter: discovery.BeaconFilter = attrs.field(init=False)
    #: Connections refused before their handshake, by reason (summarised, not one per line).
    refused: discovery.DropCounts = attrs.field(factory=discovery.DropCounts)
    _refused_logged_at: float = -1e9
    _stranger_since: dict[bytes, float] = attrs.field(factory=dict)
    _turned_away: dict[bytes, float] = attrs.field(factory=dict)
    _twin_noted_at: dict[tuple[str, int], float] = attrs.field(factory=dict)
    _stopping: trio.Event = attrs.field(factory=trio.Event)
    #: Seqs of our own log that sync saw a peer hold beyond ours (newest kept, never queued).
    _own_log_ahead: int = 0
    _own_log_ahead_changed: trio.Event = attrs.field(factory=trio.Event)
    #: Members' signed address records (peer exchange), and what the node sees of its
    #: network for ``peerclass doctor`` (issue 21).
    book: AddressBook = attrs.field(init=False)
    reach: Reach = attrs.field(factory=Reach)
    #: Who is connected, for the store's peers table, written in order by one task so that a
    #: session never waits in the writer queue before it starts (issue 21).
    _peer_notes: trio.MemorySendChannel[tuple[bytes, str, bool]] = attrs.field(init=False)
    _peer_notes_out: trio.MemoryReceiveChannel[tuple[bytes, str, bool]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.book = AddressBook(self.membership.klass.class_id, self.membership.peer_id)
        self._peer_notes, self._peer_notes_out = trio.open_memory_channel[tuple[bytes, str, bool]](
            4096
        )
        self._handshaking = trio.CapacityLimiter(self.config.max_handshaking)
        self.mesh = Mesh(self.membership.peer_id, self.config.max_connections)
        self.mesh.on_own_log_ahead = self._note_own_log_ahead
        self.beacon_filter = discovery.BeaconFilter(
            discovery.beacon_key(self.membership.klass.secret),
            self.membership.peer_id,
            self.instance,
            self.started_ms,
        )

    async def run(
        self,
        ui: Sequence[Callable[[], Awaitable[None]]] = (),
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run the peer until cancelled, or until a signal or :meth:`request_stop` has
        stopped it in stages; use with ``nursery.start``, which returns the TCP port once the
        peer listens (port 0 in the config picks a free one: tests need that number).

        ``ui`` are the user-facing tasks (console, web UI), supervised in the same root
        nursery so that a failure there stops the peer cleanly; the caller builds them, so
        this package never imports the CLI. A failure inside one connection closes that
        connection only. Raises what the listener raises if the port cannot be bound.
        """
        await self.store.refresh()
        await self.store.forget_strangers()
        async with trio.open_nursery() as root:
            intake = trio.CancelScope()
            root.start_soon(self._stop_on_signals, root.cancel_scope)
            root.start_soon(self._staged_shutdown, intake, root.cancel_scope)
            async with trio.open_nursery() as connections:
                with intake:
                    async with trio.open_nursery() as front:
                        await self._open_intake(front, connections)
                        root.start_soon(self.store.watch_other_writers)
                        root.start_soon(self._anti_entropy)
                        root.start_soon(self._turn_away_strangers)
                        root.start_soon(self._block_authoring_while_behind)
                        root.start_soon(self._record_peers)
                        root.start_soon(self._exchange_addresses)
                        root.start_soon(self._record_reach)
                        for task in ui:
                            root.start_soon(task)
                        task_status.started(self.listen_port)
                # The intake stopped (shutdown): connections say goodbye, then root cancels.

    async def _open_intake(self, front: trio.Nursery, connections: trio.Nursery) -> None:
        """Listener, discovery and dialer: what brings new connections, which run in
        ``connections`` so that stopping the intake leaves them to say goodbye."""
        listeners = await trio.open_tcp_listeners(self.config.port, host=self.config.bind)
        self.listen_port = listeners[0].socket.getsockname()[1]
        await front.start(
            functools.partial(
                trio.serve_listeners,
                self._handle_inbound,
                listeners,
                handler_nursery=connections,
            )
        )
        self.announce(f"listening on {self.config.bind}:{self.listen_port}")
        self.reach.listen = [f"{h}:{p}" for h, p in self.own_addresses()]
        if self.config.discovery and self.config.beacons:
            await front.start(self._receive_beacons)
            front.start_soon(self._send_beacons)
        else:
            self.reach.beacons = "off (--no-beacons or --no-discovery)"
        off = self.config.mdns_off_reason()
        self.reach.mdns = off or "on"
        if off is None:
            front.start_soon(self._run_mdns)
        front.start_soon(self._dial_loop, connections)

    def request_stop(self) -> None:
        """Begin the staged shutdown (what SIGINT / SIGTERM do): no new connections, a
        goodbye on every session within ``goodbye_grace``, then cancel. Safe from any task,
        and idempotent, so a UI command can ask for it."""
        self._stopping.set()

    async def _staged_shutdown(self, intake: trio.CancelScope, root: trio.CancelScope) -> None:
        await self._stopping.wait()
        intake.cancel()
        sessions = [session for session, _dialer in self.mesh.sessions.values()]
        for session in sessions:
            session.close("peer is shutting down")
        with trio.move_on_after(self.config.goodbye_grace):
            while self.mesh.sessions:
                await self.mesh.changed.wait()
        root.cancel()

    async def _stop_on_signals(self, root: trio.CancelScope) -> None:
        """The first signal stops in stages; a second one (impatient Ctrl-C) at once."""
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                log.info("received %s, stopping", signal.Signals(signum).name)
                if self._stopping.is_set():
                    root.cancel()
                    return
                self.request_stop()

    # ---- discovery -------------------------------------------------------------------

    async def _send_beacons(self) -> None:
        sender = discovery.BeaconSender(
            self.beacon_filter.key, self.membership.signing_key, self.listen_port, self.instance
        )
        address = self.config.discovery_addr
        targets = discovery.every_interface if address is None else lambda: [address]
        await discovery.send_beacons(sender, targets, self.config.discovery_port)

    async def _receive_beacons(self, *, task_status: trio.TaskStatus[None]) -> None:
        twins_send, twins_receive = trio.open_memory_channel[discovery.Twin](16)

        def on_beacon(beacon: discovery.Beacon, host: str) -> None:
            self.table.saw(beacon.peer_id, host, beacon.port)
            skew = beacon.sent_ms - int(time.time() * 1000)
            self.reach.heard_from(beacon.peer_id, f"{host}:{beacon.port}", "beacon", skew)
            self._heard_way(beacon.peer_id, "beacon")

        def on_twin(twin: discovery.Twin) -> None:
            with contextlib.suppress(trio.WouldBlock):
                twins_send.send_nowait(twin)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._block_authoring_for_twins, twins_receive)
            await nursery.start(
                functools.partial(
                    discovery.receive_beacons,
                    self.beacon_filter,
                    self.config.discovery_port,
                    on_beacon,
                    on_twin,
                )
            )
            task_status.started()

    async def _run_mdns(self) -> None:
        """DNS-SD over mDNS beside the beacons (``peer.net._mdns``), loaded only here: a
        node on loopback never imports zeroconf. Its failure (no multicast route, say) is
        told once and leaves the other ways working."""
        try:
            from peer.net import _mdns
        except ImportError as exc:
            self.reach.mdns = f"unavailable ({exc})"
            log.warning("mDNS is unavailable (%s): beacons and --peer still work", exc)
            return
        key = self.beacon_filter.key
        sender = discovery.BeaconSender(
            key, self.membership.signing_key, self.listen_port, self.instance
        )
        mdns_filter = discovery.BeaconFilter(
            key, self.membership.peer_id, self.instance, self.started_ms
        )

        def on_beacon(beacon: discovery.Beacon, host: str) -> None:
            self.table.saw(beacon.peer_id, host, beacon.port)
            skew = beacon.sent_ms - int(time.time() * 1000)
            self.reach.heard_from(beacon.peer_id, f"{host}:{beacon.port}", "mdns", skew)
            self._heard_way(beacon.peer_id, "mdns")

        try:
            await _mdns.run_mdns(
                sender,
                mdns_filter,
                lambda: [host for host, _port in self.own_addresses()],
                on_beacon,
                refresh=self.config.mdns_refresh,
            )
        except OSError as exc:
            self.reach.mdns = f"failed ({exc.strerror or exc})"
            log.warning("mDNS stopped: %s (beacons and --peer still work)", exc)

    async def _block_authoring_for_twins(
        self, twins: trio.MemoryReceiveChannel[discovery.Twin]
    ) -> None:
        """A live twin of our identity (a copied data dir) would fork our log: block authoring
        here until it has been gone a while, and tell the person at the keyboard."""
        async for twin in twins:
            where = (twin.host, twin.port)
            now = trio.current_time()
            if now - self._twin_noted_at.get(where, -1e9) < self.config.twin_renew_interval:
                continue  # noted recently; the block is renewed while it lasts
            first = where not in self._twin_noted_at
            self._twin_noted_at[where] = now
            reason = (
                f"another copy of this identity (peer {short_id(self.membership.peer_id)}) "
                f"is running at {twin.host}:{twin.port}, probably from a copied data dir; "
                "two copies writing would fork this log and classmates would stop receiving "
                "it. Stop that copy (each person needs their own `peerclass init`); writing "
                f"resumes {self.config.twin_block // 60} minutes after it was last seen"
            )
            try:
                await self.store.block_authoring("twin", reason, self.config.twin_block)
            except StorageError as exc:  # e.g. a full disk: renewed at the next sighting
                log.warning("could not block writing: %s", exc)
            if first:
                log.warning("%s", reason)
                self.announce(f"warning: {reason}")

    def _note_own_log_ahead(self, seq: int) -> None:
        """Sync's callback (plain, from a session): handed to the task below."""
        if seq > self._own_log_ahead:
            self._own_log_ahead = seq
            self._own_log_ahead_changed.set()

    async def _block_authoring_while_behind(self) -> None:
        while True:
            await self._own_log_ahead_changed.wait()
            self._own_log_ahead_changed = trio.Event()
            try:
                await self.own_log_elsewhere(self._own_log_ahead, "a connected peer")
            except StorageError as exc:  # e.g. a full disk: the next sighting tries again
                log.warning("could not block writing: %s", exc)

    async def own_log_elsewhere(self, seq: int, where: str) -> None:
        """Called by sync when ``where`` holds our own log up to ``seq``, beyond ours: this
        data dir is an old copy, and writing now would fork. Authoring stays blocked until
        our log has caught up (it does, from that peer)."""
        ours = (await self.store.heads()).get(self.membership.peer_id, 0)
        if seq <= ours:
            return
        reason = (
            f"{where} holds this identity's log up to event {seq}, but this data dir has only "
            f"{ours} (an older copy, e.g. restored from a backup, or a copied data dir). Keep "
            "`peerclass run` connected to the class until it catches up; writing before then "
            "would fork this log"
        )
        await self.store.note_own_log_elsewhere(seq, reason)
        log.warning("%s", reason)

    # ---- peer exchange and reach ----------------------------------------------------------

    def own_addresses(self) -> list[tuple[str, int]]:
        """Where members can dial us: the address we bind to, or (bound to every address)
        each up interface's own address, with our listening port. Re-read each time, so a
        laptop that changes networks tells the new addresses."""
        bind = self.config.bind
        if bind not in ("0.0.0.0", "::", ""):
            return [(bind, self.listen_port)]
        found = [(i.address, self.listen_port) for i in broadcast_interfaces()]
        return found[:MAX_ADDRESSES]

    def _own_record(self, now_ms: int) -> bytes | None:
        """Our address record, signed now (so its time also tells a receiver our clock)."""
        addresses = self.own_addresses()
        if not addresses or not self.listen_port:
            return None
        klass = self.membership.klass
        return encode_record(self.membership.signing_key, klass.class_id, addresses, now_ms)

    async def _exchange_addresses(self) -> None:
        """Peer exchange: tell every session our own record and those of the members we are
        connected to, every ``exchange_interval`` and soon after the sessions change (at most
        every ``exchange_min_interval``), so reaching one member finds the rest."""
        while True:
            self.offer_addresses()
            last = trio.current_time()
            with trio.move_on_after(self.config.exchange_interval):
                await self.mesh.changed.wait()
            await trio.sleep_until(last + self.config.exchange_min_interval)

    def offer_addresses(self) -> None:
        """One round of peer exchange (see :meth:`_exchange_addresses`): bounded to one
        ``addrs`` frame per session, a random selection where the class is larger."""
        now_ms = int(time.time() * 1000)
        own = self._own_record(now_ms)
        for remote in list(self.mesh.sessions):
            self._offer_to(remote, own, now_ms)

    def _offer_to(self, remote: bytes, own: bytes | None, now_ms: int) -> None:
        """One session's ``addrs`` frame: our record, its connected members' records, and
        by which ways we hear it (``Addrs.hears``: how a member learns others hear it)."""
        session = self.mesh.sessions[remote][0]
        others = self.book.raws(set(self.mesh.sessions) - {remote}, now_ms)
        room = MAX_ADDR_RECORDS - (own is not None)
        if len(others) > room:
            others = random.sample(others, room)
        hears = self.reach.hears(remote, self._listening_ways(), trio.current_time())
        session.offer_addresses(([own] if own is not None else []) + others, hears)

    def _listening_ways(self) -> dict[str, float]:
        """The ways we listen on, each with how long a member heard by it counts as heard
        (a few beacons may be lost; an mDNS TXT is renewed every ``mdns_refresh``)."""
        ways = {}
        if self.config.discovery and self.config.beacons:
            ways["beacon"] = HEARD_WINDOW
        if self.reach.mdns == "on":
            ways["mdns"] = 2.5 * self.config.mdns_refresh
        return ways

    def _heard_way(self, peer_id: bytes, way: str) -> None:
        """Note a member heard by ``way``; if that is news and we are connected to it, tell
        it now (not at the next exchange round), so its doctor knows within seconds."""
        window = self._listening_ways().get(way, HEARD_WINDOW)
        news = self.reach.heard_way(peer_id, way, trio.current_time(), window)
        if news and peer_id in self.mesh.sessions:
            now_ms = int(time.time() * 1000)
            self._offer_to(peer_id, self._own_record(now_ms), now_ms)

    def _on_addresses(self, remote_id: bytes, records: list[bytes]) -> None:
        """A session's callback: records a member passed on, each verified before use."""
        now_ms = int(time.time() * 1000)
        for raw in records[:MAX_ADDR_RECORDS]:
            record = self.book.take(raw, now_ms=now_ms)
            if record is None:
                continue
            if record.peer_id == remote_id:  # signed just now by the sender: its clock
                self.reach.clock_of(remote_id, record.sent_ms - now_ms)
            else:
                host, port = record.addresses[0]
                self.reach.heard_from(record.peer_id, f"{host}:{port}", "exchange")

    async def _record_reach(self) -> None:
        """Write what we see of the network to the store for ``peerclass doctor`` and the
        UI, every ``reach_interval`` when it changed (and every minute regardless, so a
        reader can tell a stale record from a peer that stopped)."""
        last_doc: dict[str, object] | None = None
        last_at = -1e9
        while True:
            interfaces = [
                {"name": i.name, "address": i.address, "broadcast": i.broadcast}
                for i in broadcast_interfaces()
            ]
            doc = self.reach.doc(
                interfaces=interfaces,
                connected=dict(self.mesh.addresses),
                refused_records=self.book.refused,
                at_ms=0,
            )
            now = trio.current_time()
            if doc != last_doc or now - last_at >= 60:
                doc_now = {**doc, "at": int(time.time() * 1000)}
                with contextlib.suppress(StorageError):  # the store says so itself
                    await self.store.set_reach(json.dumps(doc_now))
                    last_doc, last_at = doc, now
            await trio.sleep(self.config.reach_interval)

    def _note_peer(self, peer_id: bytes, address: str, connected: bool) -> None:
        """Queue a peers-table note for :meth:`_record_peers` (never waits)."""
        try:
            self._peer_notes.send_nowait((peer_id, address, connected))
        except trio.WouldBlock:  # the store is stuck; presence catches up at the next change
            log.info("peers table notes are behind; one dropped")

    async def _record_peers(self) -> None:
        """Write who is connected to the store in the order the sessions came and went."""
        async for peer_id, address, connected in self._peer_notes_out:
            if not connected and peer_id in self.mesh.sessions:
                continue  # replaced by a newer connection meanwhile
            with contextlib.suppress(StorageError):
                await self.store.record_peer(peer_id, address, connected=connected)

    # ---- strangers --------------------------------------------------------------------

    async def _turn_away_strangers(self) -> None:
        """Close sessions of identities that are no members we know (no log of theirs here,
        or not on / removed from the roster) once the stranger grace has passed, so throwaway
        identities made from an invite cannot hold the session slots; and drop the address
        book rows such identities leave behind."""
        forget_rounds = 0
        while True:
            await trio.sleep(self.config.stranger_check_interval)
            now = trio.current_time()
            connected = dict(self.mesh.sessions)
            if set(self._stranger_since) - set(connected):
                # Gone: its row is marked disconnected as its connection ends; drop it then.
                forget_rounds = 2
            for peer_id, until in list(self._turned_away.items()):
                if until <= now:
                    del self._turned_away[peer_id]
            try:
                strangers = await self.store.strangers_among(list(connected))
                if forget_rounds:
                    forget_rounds -= 1
                    await self.store.forget_strangers()
            except StorageError:  # the store tells the person itself; look again later
                continue
            self._stranger_since = {
                p: self._stranger_since.get(p, now) for p in strangers if p in connected
            }
            for peer_id, since in list(self._stranger_since.items()):
                # Removed by the roster (issue 10): no grace, unlike a newcomer.
                removed = (
                    await self.store.query(removal_note, peer_id)
                    if peer_id in self.mesh.sessions
                    else None
                )
                if (
                    removed is not None or now - since >= self.config.stranger_grace
                ) and peer_id in self.mesh.sessions:
                    why = removed or "not a member of this class that we know"
                    log.info("closing connection with %s: %s", short_id(peer_id), why)
                    self._turned_away[peer_id] = now + self.config.stranger_cooldown
                    self.mesh.sessions[peer_id][0].close(why)

    # ---- connections ----------------------------------------------------------------

    async def _handle_inbound(self, stream: trio.SocketStream) -> None:
        try:
            host = str(stream.socket.getpeername()[0])
        except OSError:  # reset before we looked
            await _close_quietly(stream)
            return
        if self.store.health.backing_off():  # our disk is full or read-only: not yet
            self._refuse(host, "our store cannot be written")
            await _close_quietly(stream)
            return
        # Strangers opening sockets faster than handshakes finish must not exhaust our file
        # descriptors, nor, from one address, take the slots everyone else needs; members
        # retry with backoff.
        if self._handshaking_from[host] >= self.config.max_handshaking_per_source:
            self._refuse(host, "too many handshakes from one address")
            await _close_quietly(stream)
            return
        try:
            self._handshaking.acquire_nowait()
        except trio.WouldBlock:
            self._refuse(host, "too many handshakes in all")
            await _close_quietly(stream)
            return
        self._handshaking_from[host] += 1
        slot = _HandshakeSlot(self._handshaking, self._handshaking_from, host)
        await self._run_connection(stream, initiator=False, host=host, limiter=slot)

    def _refuse(self, host: str, reason: str) -> None:
        """Count a connection refused before its handshake; log a summary now and then."""
        self.refused.add(reason, host)
        now = trio.current_time()
        interval = self.config.summary_interval
        if now - self._refused_logged_at >= interval:
            self._refused_logged_at = now
            summary = self.refused.summarise(interval, "refused connections")
            if summary is not None:
                log.warning("%s", summary[1])

    async def _dial_loop(self, connections: trio.Nursery) -> None:
        """Dial every known peer we are not connected to, each address with its own backoff;
        the connections run in ``connections`` (they outlive this loop on shutdown)."""
        redial = Redial.from_config(self.config)
        first_seen: dict[bytes, float] = {}
        dialing: set[tuple[str, int]] = set()
        own_id = self.membership.peer_id
        instructor = self.membership.klass.instructor
        while True:
            now = trio.current_time()
            connected = self.mesh.connected()
            static = list(self.config.static_peers)
            # The invite's addresses of the instructor (issue 21): a student who hears no
            # beacon dials the instructor directly; dialed like --peer, until connected.
            whose: dict[tuple[str, int], bytes] = {}
            if instructor != own_id and instructor not in connected:
                invited = [a for a in self.membership.klass.addresses if a not in static]
                static += invited
                whose.update((a, instructor) for a in invited)
            candidates = dict(self.table.live())
            # Members learned by peer exchange: the first of their addresses that is due.
            now_ms = int(time.time() * 1000)
            for peer_id, addrs in self.book.addresses(now_ms).items():
                if peer_id not in candidates:
                    due = [a for a in addrs if redial.due(a, now) and a not in dialing]
                    candidates[peer_id] = due[0] if due else addrs[0]
            discovered: list[tuple[str, int]] = []
            for peer_id, addr in candidates.items():
                if peer_id in connected:
                    continue
                seen = first_seen.setdefault(peer_id, now)
                if peer_id < own_id and now - seen < self.config.dial_defer:
                    continue  # the other side dials first
                discovered.append(addr)
                whose[addr] = peer_id
            random.shuffle(discovered)  # a random few: the mesh becomes a random graph
            for addr in static + discovered:
                if addr in dialing or len(connected) >= self.config.max_connections:
                    continue
                if addr not in static and len(connected) + len(dialing) >= self.config.dial_target:
                    continue  # enough links: discovered peers reach us through the others
                if self._connected_to(addr) or not redial.due(addr, now):
                    continue
                redial.attempt(addr, now)
                dialing.add(addr)
                connections.start_soon(self._dial, addr, dialing, redial, whose.get(addr))
            with trio.move_on_after(self.config.dial_recheck_interval):
                await self.table.wait_changed()

    def _connected_to(self, addr: tuple[str, int]) -> bool:
        return f"{addr[0]}:{addr[1]}" in self.mesh.addresses.values()

    async def _dial(
        self,
        addr: tuple[str, int],
        dialing: set[tuple[str, int]],
        redial: Redial,
        peer_id: bytes | None = None,
    ) -> None:
        """Dial ``addr`` and run the connection. The address leaves ``dialing`` once the
        session is registered, not when it ends: a live session counts once against the dial
        budget (as a connection), not twice (issue 21)."""
        outcome: Outcome = "unreachable"
        where = f"{addr[0]}:{addr[1]}"
        try:
            await self.store.health.wait_writable()  # a full disk: dial when it has room
            try:
                stream = await trio.open_tcp_stream(*addr)
            except OSError as exc:
                log.info("could not connect to %s: %s", where, exc)
                self.reach.could_not_reach(where, exc.strerror or str(exc), peer_id)
                return
            self.reach.reached(where)
            outcome = await self._run_connection(
                stream,
                initiator=True,
                host=addr[0],
                port=addr[1],
                registered=lambda: dialing.discard(addr),
            )
        finally:
            redial.ended(addr, outcome)
            dialing.discard(addr)

    async def _run_connection(
        self,
        stream: trio.abc.Stream,
        *,
        initiator: bool,
        host: str,
        port: int | None = None,
        limiter: _HandshakeSlot | None = None,
        registered: Callable[[], None] | None = None,
    ) -> Outcome:
        """Handshake, register, and run one connection. ``ran`` only if the other side said
        something besides goodbye (a peer that refuses us after the handshake says only
        that); ``refused`` if either side refused; ``unreachable`` if our store failed."""
        try:
            shaken = await handshake(
                stream,
                self.membership,
                initiator=initiator,
                listen_port=self.listen_port,
                deadline=self.config.handshake_timeout,
            )
        except HandshakeError as exc:
            log.warning("refused connection with %s: %s", host, exc)
            await _close_quietly(stream)
            return "refused"
        except Exception:
            log.exception("refused connection with %s after an internal error", host)
            await _close_quietly(stream)
            return "refused"
        finally:
            if limiter is not None:
                limiter.release()
        hello = shaken.hello
        if self._turned_away.get(hello.peer_id, -1e9) > trio.current_time():
            await _say_bye(shaken.framed, "not a member of this class that we know")
            return "refused"
        removal = await self.store.query(removal_note, hello.peer_id)
        if removal is not None:  # issue 10: no grace; issue 18: say why
            log.info("refused %s: %s", short_id(hello.peer_id), removal)
            await _say_bye(shaken.framed, removal)
            return "refused"
        address = f"{host}:{port if port is not None else hello.port}"
        label = f"peer {short_id(hello.peer_id)} at {address}"
        session = Session(
            shaken.framed,
            self.store,
            hello.peer_id,
            label,
            gossip=self.mesh.gossip,
            config=self.config,
            on_own_log_ahead=self.mesh.own_log_ahead,
            pex=FEATURE_PEX in hello.features,
            on_addresses=self._on_addresses,
            on_hears=self.reach.heard_by,
        )
        dialer = self.membership.peer_id if initiator else hello.peer_id
        refusal = self.mesh.add(session, dialer, address)
        if refusal is not None:
            log.info("closing connection with %s: %s", label, refusal)
            await _say_bye(shaken.framed, refusal)
            return "refused"
        log.info("connected to %s", label)
        if registered is not None:
            registered()
        self._note_peer(hello.peer_id, address, True)
        try:
            await session.run()
        except (ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            log.warning("closed connection with %s: %s", label, exc)
        except Exception as exc:
            if _only_storage_errors(exc):
                return "unreachable"  # the store has told it once (storage._health)
            # A bug met while serving one peer must not take the whole peer down with it.
            log.exception("closed connection with %s after an internal error", label)
        finally:
            self.mesh.remove(session)
            if hello.peer_id not in self.mesh.sessions:  # not replaced by a newer connection
                self._note_peer(hello.peer_id, address, False)
            await _close_quietly(shaken.framed)
        return "ran" if session.stats.messages_received else "refused"

    async def _anti_entropy(self) -> None:
        """Every so often, compare vectors with one random peer to repair lost pushes, and
        with the instructor's peer when connected to it: its class board (issue 20) tells
        each student's peer in sync or how far behind from the vectors it hears, so they are
        at most one round old (one small message per student per round)."""
        while True:
            await trio.sleep(self.config.anti_entropy_interval * random.uniform(0.8, 1.2))
            sessions = dict(self.mesh.sessions)
            if not sessions:
                continue
            chosen = {random.choice(list(sessions))}
            instructor = self.membership.klass.instructor
            if instructor in sessions and instructor != self.membership.peer_id:
                chosen.add(instructor)
            for peer in chosen:
                sessions[peer][0].request_sync()


@attrs.define(eq=False)
class _HandshakeSlot:
    """One inbound handshake's hold on the total and per-address limits, released once."""

    total: trio.CapacityLimiter
    by_source: collections.Counter[str]
    source: str

    def release(self) -> None:
        self.total.release()
        self.by_source[self.source] -= 1
        if self.by_source[self.source] <= 0:
            del self.by_source[self.source]


def _only_storage_errors(exc: BaseException) -> bool:
    """Whether ``exc`` (a group from a session's nursery, say) is a full or read-only disk."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(StorageError)[1] is None
    return isinstance(exc, StorageError)


async def _say_bye(framed: FramedStream, reason: str) -> None:
    with (
        trio.move_on_after(1),
        contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, ProtocolError),
    ):
        await framed.send(Bye(reason))
    await _close_quietly(framed)


async def _close_quietly(resource: trio.abc.AsyncResource | FramedStream) -> None:
    with (
        trio.move_on_after(1, shield=True),
        contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError),
    ):
        await resource.aclose()
