"""The running peer: one root nursery supervising discovery, listener, dialer, gossip and UI.

```
root
├── signals      SIGINT / SIGTERM cancel the root scope (clean exit, status 0)
├── watch        notices events other processes append (the CLI)
├── discovery    beacon sender + beacon receiver (UDP)
├── listener     trio.serve_listeners: one task per inbound connection
├── dialer       connects to discovered / configured peers, with backoff
├── anti-entropy asks a random connected peer to compare version vectors
└── ui           the console and/or web UI the caller passes in
```
A failure inside one connection closes that connection only.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
from collections.abc import Awaitable, Callable, Sequence

import attrs
import trio

from peer.errors import HandshakeError, ProtocolError
from peer.identity import Membership, short_id
from peer.net import _discovery as discovery
from peer.net._handshake import handshake
from peer.net._session import Session
from peer.net._wire import Bye, FramedStream
from storage import AsyncStore

log = logging.getLogger("peerclass.node")

DEFAULT_DISCOVERY_ADDR = "255.255.255.255"
DEFAULT_DISCOVERY_PORT = 47474
MAX_CONNECTIONS = 32
#: Inbound connections that may be in their handshake at once (each holds a socket).
MAX_HANDSHAKING = 64
ANTI_ENTROPY_INTERVAL = 10.0
BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0
#: The peer with the larger id waits this long for the smaller one to dial it first,
#: so that two peers that discover each other rarely both dial.
DIAL_DEFER = 2.0


@attrs.frozen
class NodeConfig:
    bind: str = "0.0.0.0"
    port: int = 0
    discovery: bool = True
    discovery_addr: str = DEFAULT_DISCOVERY_ADDR
    discovery_port: int = DEFAULT_DISCOVERY_PORT
    static_peers: tuple[tuple[str, int], ...] = ()
    max_connections: int = MAX_CONNECTIONS
    anti_entropy_interval: float = ANTI_ENTROPY_INTERVAL


@attrs.define(eq=False)
class Mesh:
    """Live sessions, one per remote peer."""

    own_id: bytes
    max_connections: int
    sessions: dict[bytes, tuple[Session, bytes]] = attrs.field(factory=dict)
    #: The listening address ("host:port") of each connected peer.
    addresses: dict[bytes, str] = attrs.field(factory=dict)
    changed: trio.Event = attrs.field(factory=trio.Event)

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
        current = self.sessions.get(session.remote_id)
        if current is not None and current[0] is session:
            del self.sessions[session.remote_id]
            del self.addresses[session.remote_id]
            self._signal()

    def connected(self) -> set[bytes]:
        return set(self.sessions)

    def _signal(self) -> None:
        self.changed.set()
        self.changed = trio.Event()


@attrs.define(eq=False)
class Node:
    """Everything one running peer shares between its tasks (no nurseries kept here)."""

    config: NodeConfig
    membership: Membership
    store: AsyncStore
    announce: Callable[[str], None]
    mesh: Mesh = attrs.field(init=False)
    table: discovery.PeerTable = attrs.field(factory=discovery.PeerTable)
    listen_port: int = 0
    _handshaking: trio.CapacityLimiter = attrs.field(
        factory=lambda: trio.CapacityLimiter(MAX_HANDSHAKING)
    )
    _forked_cache: tuple[float, set[bytes]] = (-1e9, set())

    def __attrs_post_init__(self) -> None:
        self.mesh = Mesh(self.membership.peer_id, self.config.max_connections)

    async def run(
        self,
        ui: Sequence[Callable[[], Awaitable[None]]] = (),
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled (or a signal); ``task_status`` gets the TCP port.

        ``ui`` are the user-facing tasks (console, web UI) supervised in the same root
        nursery; the caller builds them, so this package never imports the CLI.
        """
        await self.store.refresh()
        async with trio.open_nursery() as root:
            root.start_soon(_stop_on_signals, root.cancel_scope)
            listeners = await trio.open_tcp_listeners(self.config.port, host=self.config.bind)
            self.listen_port = listeners[0].socket.getsockname()[1]
            await root.start(trio.serve_listeners, self._handle_inbound, listeners)
            self.announce(f"listening on {self.config.bind}:{self.listen_port}")
            root.start_soon(self.store.watch_other_writers)
            if self.config.discovery:
                await root.start(self._receive_beacons)
                root.start_soon(self._send_beacons)
            root.start_soon(self._dial_loop)
            root.start_soon(self._anti_entropy)
            for task in ui:
                root.start_soon(task)
            task_status.started(self.listen_port)

    # ---- discovery -------------------------------------------------------------------

    async def _send_beacons(self) -> None:
        key = discovery.beacon_key(self.membership.klass.secret)
        beacon = discovery.Beacon(self.membership.peer_id, self.listen_port)
        await discovery.send_beacons(
            key, beacon, self.config.discovery_addr, self.config.discovery_port
        )

    async def _receive_beacons(self, *, task_status: trio.TaskStatus[None]) -> None:
        key = discovery.beacon_key(self.membership.klass.secret)

        def on_beacon(beacon: discovery.Beacon, host: str) -> None:
            self.table.saw(beacon.peer_id, host, beacon.port)

        await discovery.receive_beacons(
            key,
            self.membership.peer_id,
            self.config.discovery_port,
            on_beacon,
            task_status=task_status,
        )

    # ---- connections ----------------------------------------------------------------

    async def _handle_inbound(self, stream: trio.SocketStream) -> None:
        try:
            self._handshaking.acquire_nowait()
        except trio.WouldBlock:
            # Strangers opening sockets faster than handshakes finish must not exhaust our
            # file descriptors; members retry with backoff.
            log.warning("too many connections still handshaking; dropping a new one")
            await _close_quietly(stream)
            return
        try:
            host = str(stream.socket.getpeername()[0])
        except OSError:  # reset before we looked
            self._handshaking.release()
            await _close_quietly(stream)
            return
        await self._run_connection(stream, initiator=False, host=host, limiter=self._handshaking)

    async def _dial_loop(self) -> None:
        """Dial every known peer we are not connected to, each address with its own backoff."""
        backoff: dict[tuple[str, int], tuple[float, float]] = {}  # addr -> (next try, delay)
        first_seen: dict[bytes, float] = {}
        dialing: set[tuple[str, int]] = set()
        async with trio.open_nursery() as connections:
            while True:
                now = trio.current_time()
                connected = self.mesh.connected()
                targets: list[tuple[str, int]] = list(self.config.static_peers)
                for peer_id, addr in self.table.live().items():
                    if peer_id in connected:
                        continue
                    seen = first_seen.setdefault(peer_id, now)
                    if peer_id < self.membership.peer_id and now - seen < DIAL_DEFER:
                        continue  # the other side dials first
                    targets.append(addr)
                for addr in targets:
                    if addr in dialing or len(connected) >= self.config.max_connections:
                        continue
                    if self._connected_to(addr) or backoff.get(addr, (0.0, 0.0))[0] > now:
                        continue
                    delay = backoff.get(addr, (0.0, BACKOFF_MIN / 2))[1]
                    delay = min(BACKOFF_MAX, delay * 2) * random.uniform(0.8, 1.2)
                    backoff[addr] = (now + delay, delay)
                    dialing.add(addr)
                    connections.start_soon(self._dial, addr, dialing, backoff)
                with trio.move_on_after(0.5):
                    await self.table.wait_changed()

    def _connected_to(self, addr: tuple[str, int]) -> bool:
        return f"{addr[0]}:{addr[1]}" in self.mesh.addresses.values()

    async def _dial(
        self,
        addr: tuple[str, int],
        dialing: set[tuple[str, int]],
        backoff: dict[tuple[str, int], tuple[float, float]],
    ) -> None:
        try:
            try:
                stream = await trio.open_tcp_stream(*addr)
            except OSError as exc:
                log.info("could not connect to %s:%d: %s", addr[0], addr[1], exc)
                return
            if await self._run_connection(stream, initiator=True, host=addr[0], port=addr[1]):
                backoff.pop(addr, None)
        finally:
            dialing.discard(addr)

    async def _run_connection(
        self,
        stream: trio.abc.Stream,
        *,
        initiator: bool,
        host: str,
        port: int | None = None,
        limiter: trio.CapacityLimiter | None = None,
    ) -> bool:
        """Handshake, register, and run one connection; True if a session ran."""
        try:
            shaken = await handshake(
                stream, self.membership, initiator=initiator, listen_port=self.listen_port
            )
        except HandshakeError as exc:
            log.warning("refused connection with %s: %s", host, exc)
            await _close_quietly(stream)
            return False
        except Exception:
            log.exception("refused connection with %s after an internal error", host)
            await _close_quietly(stream)
            return False
        finally:
            if limiter is not None:
                limiter.release()
        hello = shaken.hello
        address = f"{host}:{port if port is not None else hello.port}"
        label = f"peer {short_id(hello.peer_id)} at {address}"
        session = Session(shaken.framed, self.store, hello.peer_id, label, forked=self._forked)
        dialer = self.membership.peer_id if initiator else hello.peer_id
        refusal = self.mesh.add(session, dialer, address)
        if refusal is not None:
            log.info("closing connection with %s: %s", label, refusal)
            await _say_bye(shaken.framed, refusal)
            return False
        log.info("connected to %s", label)
        try:
            await self.store.record_peer(hello.peer_id, address, connected=True)
            await session.run()
        except (ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            log.warning("closed connection with %s: %s", label, exc)
        except Exception:
            # A bug met while serving one peer must not take the whole peer down with it.
            log.exception("closed connection with %s after an internal error", label)
        finally:
            self.mesh.remove(session)
            # Bounded: a store locked by another process must neither hang nor crash shutdown.
            with trio.move_on_after(2, shield=True), contextlib.suppress(Exception):
                if hello.peer_id not in self.mesh.sessions:  # not replaced by a newer connection
                    await self.store.record_peer(hello.peer_id, address, connected=False)
            await _close_quietly(shaken.framed)
        return True

    async def _forked(self) -> set[bytes]:
        """Authors whose logs forked (their later events are not relayed); cached briefly."""
        fetched_at, authors = self._forked_cache
        if trio.current_time() - fetched_at > 1.0:
            authors = await self.store.forked_authors()
            self._forked_cache = (trio.current_time(), authors)
        return authors

    async def _anti_entropy(self) -> None:
        """Every so often, compare vectors with one random peer to repair lost pushes."""
        while True:
            await trio.sleep(self.config.anti_entropy_interval * random.uniform(0.8, 1.2))
            sessions = list(self.mesh.sessions.values())
            if sessions:
                random.choice(sessions)[0].request_sync()


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


async def _stop_on_signals(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s, stopping", signal.Signals(signum).name)
            scope.cancel()
            return
