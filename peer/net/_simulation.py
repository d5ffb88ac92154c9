"""Many peers in one process: the real sync machines (:mod:`_sync`) wired by a simulated
network with virtual time, for tests and benches of gossip at scale (200 peers in seconds).

Each simulated peer has a toy store (per author, the ids of its events in seq order; no
signatures) and one :class:`SyncMachine` per link. Links deliver messages in order after a
latency, and may lose, duplicate or reorder them when told. Nothing here touches a socket,
a thread or the clock.

    from peer.net._simulation import simulate
    report = simulate(peers=200, degree=4, posts=200, seed=1)
    print(report.copies_per_delivery, report.converged_at)

``Network`` is the lower-level API: ``add_peer``, ``link``, ``unlink``, ``post``,
``run_until``, ``converged``.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import random
import struct
from collections.abc import Callable

import attrs

from peer.errors import ProtocolError
from peer.net._gossip import Gossip
from peer.net._sync import (
    Close,
    Closed,
    Ingest,
    IngestOutcome,
    Push,
    ReadStored,
    Ref,
    Send,
    Serve,
    SyncConfig,
    SyncMachine,
    Wait,
)
from peer.net._wire import Events, Message, encode

_RAW = struct.Struct(">32sQ32s")  # a toy event: author, seq, id


def _event_id(author: bytes, seq: int, branch: int) -> bytes:
    return hashlib.blake2b(author + struct.pack(">QQ", seq, branch), digest_size=32).digest()


@attrs.define(eq=False)
class SimStore:
    """Per author, the ids of the events held, in seq order; a local id per stored event."""

    logs: dict[bytes, list[bytes]] = attrs.field(factory=dict)
    refs: list[Ref] = attrs.field(factory=list)
    fork_points: dict[bytes, int] = attrs.field(factory=dict)
    #: Size of an event on the wire (the toy header padded), for the byte counts.
    event_bytes: int = 250

    @property
    def max_local_id(self) -> int:
        """The store's cursor, as ``AsyncStore.watch`` gives the session."""
        return len(self.refs)

    def append(self, author: bytes, branch: int = 0) -> bytes:
        """Author the next event of ``author``'s log; a ``branch`` other than 0 signs a
        different event at the same seq elsewhere, which is how a fork is simulated."""
        log = self.logs.setdefault(author, [])
        seq = len(log) + 1
        event_id = _event_id(author, seq, branch)
        self._store(author, seq, event_id)
        return self.raw(author, seq)

    def _store(self, author: bytes, seq: int, event_id: bytes) -> None:
        self.logs.setdefault(author, []).append(event_id)
        self.refs.append(Ref(len(self.refs) + 1, author, seq, event_id))

    def raw(self, author: bytes, seq: int) -> bytes:
        """The event as it travels, padded to ``event_bytes`` so byte counts are realistic."""
        head = _RAW.pack(author, seq, self.logs[author][seq - 1])
        return head.ljust(self.event_bytes, b"\0")

    def ingest(self, raws: list[bytes], pushed: bool) -> IngestOutcome:
        """What the real store's ingest does, minus signatures: store what continues a log,
        count duplicates, note gaps and forks (a different id at a seq held)."""
        stored: dict[bytes, tuple[int, bytes]] = {}
        seen: dict[bytes, int] = {}
        gaps: dict[bytes, int] = {}
        duplicates = count = 0
        for raw in sorted(raws, key=lambda r: _RAW.unpack_from(r)[:2]):
            author, seq, event_id = _RAW.unpack_from(raw)
            seen[author] = max(seq, seen.get(author, 0))
            log = self.logs.get(author, [])
            if seq <= len(log):
                if log[seq - 1] == event_id:
                    duplicates += 1
                else:
                    point = self.fork_points.get(author, seq)
                    self.fork_points[author] = min(point, seq)
            elif seq == len(log) + 1:
                self._store(author, seq, event_id)
                stored[author] = (seq, event_id)
                count += 1
            elif seq > len(log) + 1:
                gaps.setdefault(author, len(log) + 1)
        duplicated = frozenset(a for a in seen if a not in stored and a not in gaps)
        return IngestOutcome(
            stored,
            count,
            duplicates,
            gaps,
            (),
            seen,
            pushed,
            duplicated if duplicates else frozenset(),
        )


@attrs.define(eq=False)
class SimPeer:
    """One simulated node: its store, the gossip state its links share, and one real
    :class:`SyncMachine` per link (the code under study, unchanged)."""

    id: bytes
    store: SimStore
    gossip: Gossip
    machines: dict[bytes, SyncMachine] = attrs.field(factory=dict)
    #: Per remote, which connection the current machine belongs to: frames sent on an
    #: earlier connection are never delivered to a later one (as with TCP).
    epochs: dict[bytes, int] = attrs.field(factory=dict)


@attrs.define
class Faults:
    """What a link does to the messages it carries (each a probability)."""

    lose: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    #: Extra one-way delay of this link in seconds (a slow Wi-Fi hop), on top of the network's.
    delay: float = 0.0


@attrs.define
class Counters:
    """What the network carried, so a run can be judged by its cost (copies per useful
    delivery, bytes), not only by whether it converged."""

    events_received: int = 0  # every event copy that arrived in an ``events`` message
    events_stored: int = 0  # the useful ones
    messages: int = 0
    bytes: int = 0
    restarts: int = 0
    closed: list[str] = attrs.Factory(list)


@attrs.define(eq=False)
class Network:
    """Simulated peers and links, driven by a virtual clock."""

    config: SyncConfig = attrs.field(factory=SyncConfig)
    latency: float = 0.001
    jitter: float = 0.0005
    seed: int = 0
    count_bytes: bool = False
    #: Every so often each peer asks one random neighbour to compare vectors (as the node's
    #: anti-entropy task does); None: never.
    anti_entropy_interval: float | None = None
    now: float = 0.0
    peers: dict[bytes, SimPeer] = attrs.field(factory=dict)
    faults: dict[tuple[bytes, bytes], Faults] = attrs.field(factory=dict)
    counters: Counters = attrs.field(factory=Counters)
    _rng: random.Random = attrs.field(init=False)
    _queue: list[tuple[float, int, Callable[[], None]]] = attrs.field(factory=list)
    _order: itertools.count[int] = attrs.field(factory=itertools.count)
    _last_delivery: dict[tuple[bytes, bytes], float] = attrs.field(factory=dict)
    _wakes: dict[tuple[bytes, bytes], float] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        if self.anti_entropy_interval is not None:
            self._at(self.anti_entropy_interval, self._anti_entropy)

    def _anti_entropy(self) -> None:
        assert self.anti_entropy_interval is not None
        for peer in list(self.peers.values()):
            if peer.machines:
                remote = self._rng.choice(sorted(peer.machines))
                peer.machines[remote].request_sync()
                self._pump(peer.id, remote)
        self._at(self.now + self.anti_entropy_interval, self._anti_entropy)

    # ---- building ---------------------------------------------------------------------

    def add_peer(self, name: str | None = None) -> bytes:
        """A new peer with an empty store; its id is derived from ``name``, so runs with one
        seed are reproducible."""
        label = name or f"peer {len(self.peers)}"
        peer_id = hashlib.blake2b(label.encode(), digest_size=32).digest()
        self.peers[peer_id] = SimPeer(peer_id, SimStore(), Gossip(peer_id))
        return peer_id

    def link(self, a: bytes, b: bytes, faults: Faults | None = None) -> None:
        """Connect ``a`` and ``b`` (a no-op if they are)."""
        if b in self.peers[a].machines:
            return
        epoch = next(self._order)
        for x, y in ((a, b), (b, a)):
            peer = self.peers[x]
            peer.gossip.set_fork_points(peer.store.fork_points)
            machine = SyncMachine(peer.gossip, self.now, peer.store.max_local_id, self.config)
            peer.machines[y] = machine
            peer.epochs[y] = epoch
            self.faults[(x, y)] = faults or Faults()
        self._pump(a, b)
        self._pump(b, a)

    def unlink(self, a: bytes, b: bytes) -> None:
        """Cut the link both ways at once, dropping both machines, as a closed TCP
        connection does (frames in flight on it are never delivered)."""
        for x, y in ((a, b), (b, a)):
            self.peers[x].machines.pop(y, None)
            self.faults.pop((x, y), None)
            self._wakes.pop((x, y), None)

    def restart(self, peer_id: bytes, downtime: float) -> None:
        """``peer_id`` stops now and starts again after ``downtime``: its links go down, its
        in-memory gossip state (tree, lazy announcements) is lost, its store is kept, and it
        dials the same neighbours again when it is back, as a restarted ``peerclass run``
        does from its discovery table."""
        peer = self.peers[peer_id]
        neighbours = [(remote, self.faults[(peer_id, remote)]) for remote in peer.machines]
        for remote, _ in neighbours:
            self.unlink(peer_id, remote)
        self.counters.restarts += 1

        def back() -> None:
            peer.gossip = Gossip(peer_id)
            # What a restarted node reads from its store before its first session.
            peer.gossip.merge({a: (len(log), log[-1]) for a, log in peer.store.logs.items()})
            for remote, faults in neighbours:
                if remote in self.peers:
                    self.link(peer_id, remote, faults)

        self._at(self.now + downtime, back)

    def post(self, author: bytes, count: int = 1, *, branch: int = 0) -> None:
        """``author`` appends ``count`` events to its own log (pushed at once)."""
        peer = self.peers[author]
        for _ in range(count):
            peer.store.append(author, branch)
        self._store_grew(author)

    # ---- running ----------------------------------------------------------------------

    def run_until(self, t: float) -> None:
        """Deliver everything due by virtual time ``t``: no real time passes, so a run of
        minutes of gossip among hundreds of peers takes seconds."""
        while self._queue and self._queue[0][0] <= t:
            when, _, action = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            action()
        self.now = max(self.now, t)

    def run_until_converged(self, limit: float) -> float | None:
        """Run until every peer holds the same logs (checked every 10 ms of virtual time);
        the time it happened, or None if not by ``limit``."""
        while self.now < limit:
            self.run_until(self.now + 0.01)
            if self.converged():
                return self.now
        return None

    def converged(self) -> bool:
        """Whether every peer holds the same logs (the end condition of a run)."""
        logs = [p.store.logs for p in self.peers.values()]
        return all(log == logs[0] for log in logs[1:])

    def _at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._order), action))

    # ---- driving one machine -------------------------------------------------------------

    def _pump(self, owner: bytes, remote: bytes) -> None:
        """Carry out what ``owner``'s machine for the link to ``remote`` wants to do now."""
        peer = self.peers[owner]
        while (machine := peer.machines.get(remote)) is not None:
            action = machine.poll(self.now, peer.store.max_local_id)
            match action:
                case Send():
                    self._transmit(owner, remote, action.message)
                case Serve():
                    seqs = range(action.after + 1, action.upto + 1)
                    raws = [peer.store.raw(action.author, s) for s in seqs]
                    self._transmit(owner, remote, Events(raws))
                case Push():
                    refs = [peer.store.refs[i - 1] for i in action.local_ids]
                    raws = [peer.store.raw(r.author, r.seq) for r in refs]
                    self._transmit(owner, remote, Events(raws, pushed=True))
                case ReadStored():
                    refs = peer.store.refs[action.after : action.after + 1000]
                    machine.stored(refs, refs[-1].local_id, self.now)
                case Close():
                    self.counters.closed.append(action.reason)
                    self.unlink(owner, remote)
                case Wait():
                    self._wake_at(owner, remote, action.until)
                    return

    def _wake_at(self, owner: bytes, remote: bytes, until: float) -> None:
        key = (owner, remote)
        if self._wakes.get(key, float("inf")) <= until:
            return
        self._wakes[key] = until

        def wake() -> None:
            if self._wakes.get(key) == until:
                del self._wakes[key]
                self._pump(owner, remote)

        self._at(until, wake)

    def _transmit(self, sender: bytes, receiver: bytes, message: Message) -> None:
        faults = self.faults.get((sender, receiver), Faults())
        self.counters.messages += 1
        if self.count_bytes:
            self.counters.bytes += len(encode(message))
        if self._rng.random() < faults.lose:
            return
        copies = 2 if self._rng.random() < faults.duplicate else 1
        key = (sender, receiver)
        epoch = self.peers[sender].epochs.get(receiver, -1)
        for _ in range(copies):
            when = self.now + self.latency + faults.delay + self._rng.random() * self.jitter
            if self._rng.random() >= faults.reorder:
                when = max(when, self._last_delivery.get(key, 0.0))  # in order, as TCP
                self._last_delivery[key] = when
            deliver = functools.partial(self._deliver, sender, receiver, message, epoch)
            self._at(when, deliver)

    def _deliver(self, sender: bytes, receiver: bytes, message: Message, epoch: int) -> None:
        peer = self.peers[receiver]
        machine = peer.machines.get(sender)
        if machine is None or peer.epochs.get(sender) != epoch:
            return  # the link went away meanwhile (or this is a later connection)
        try:
            actions = machine.received(message, self.now)
            grew = False
            for action in actions:
                if isinstance(action, Ingest):
                    self.counters.events_received += len(action.raws)
                    outcome = peer.store.ingest(action.raws, action.pushed)
                    self.counters.events_stored += outcome.stored_count
                    if peer.store.fork_points != peer.gossip.fork_points:
                        peer.gossip.set_fork_points(peer.store.fork_points)
                    machine.ingested(outcome, self.now)
                    grew = grew or outcome.stored_count > 0
                elif isinstance(action, Closed):
                    self.unlink(receiver, sender)
                    return
        except ProtocolError as exc:
            self.counters.closed.append(str(exc))
            self.unlink(receiver, sender)
            return
        if grew:
            self._store_grew(receiver)
        else:
            self._pump(receiver, sender)

    def _store_grew(self, owner: bytes) -> None:
        for remote in list(self.peers[owner].machines):
            self._pump(owner, remote)


@attrs.frozen
class SimReport:
    """One run's figures, as the benchmark prints them beside the real class's."""

    peers: int
    degree: int
    posts: int
    #: Event copies received per useful delivery (1.0 is the minimum).
    copies_per_delivery: float
    #: Bytes of frames sent per useful delivery.
    bytes_per_delivery: float
    #: Virtual seconds from the posts to every peer holding every event (None: not by the end).
    converged_at: float | None
    messages: int
    #: Peers restarted while the posts spread (churn).
    restarts: int = 0


def random_mesh(network: Network, ids: list[bytes], degree: int, rng: random.Random) -> None:
    """A connected partial mesh: a ring, then random links until each peer has about
    ``degree`` (as a node capping its connections ends up with)."""
    for i, peer in enumerate(ids):
        network.link(peer, ids[(i + 1) % len(ids)])
    for peer in ids:
        tries = 0
        while len(network.peers[peer].machines) < degree and tries < 10 * degree:
            tries += 1
            other = rng.choice(ids)
            if other != peer and len(network.peers[other].machines) < degree + 2:
                network.link(peer, other)


def simulate(
    peers: int = 200,
    degree: int = 4,
    posts: int = 200,
    *,
    seed: int = 0,
    warmup_posts: int = 20,
    config: SyncConfig | None = None,
    limit: float = 60.0,
    loss: float = 0.0,
    delay: float = 0.0,
    churn: float = 0.0,
    spread: float = 0.0,
    anti_entropy_interval: float | None = None,
) -> SimReport:
    """``peers`` peers on a random partial mesh; ``warmup_posts`` posts settle the tree, then
    ``posts`` peers (chosen at random) each post one event, at once or over ``spread``
    seconds. Counts what the posts cost the network until every peer holds them.

    ``loss`` is the chance that a frame is lost on any link and ``delay`` each link's extra
    one-way delay; ``churn`` is the share of peers that restart (down for 0.2 to 2 s, their
    gossip state lost) at random moments while the posts spread. Lost frames are recovered
    only by anti-entropy (every ``anti_entropy_interval`` s, as the node's task does), so
    give one whenever ``loss`` is set."""
    rng = random.Random(seed)
    network = Network(
        config or SyncConfig(),
        seed=seed,
        count_bytes=True,
        anti_entropy_interval=anti_entropy_interval,
    )
    ids = [network.add_peer(f"peer {i}") for i in range(peers)]
    random_mesh(network, ids, degree, rng)
    for key in network.faults:
        network.faults[key] = Faults(lose=loss, delay=delay)
    network.run_until(1.0)
    for _ in range(warmup_posts):
        network.post(rng.choice(ids))
        network.run_until(network.now + 0.05)
    network.run_until_converged(network.now + limit)
    network.counters = Counters()
    start = network.now
    window = max(spread, 0.5) if churn else spread
    timeline: list[tuple[float, Callable[[], None]]] = []
    for _ in range(posts):
        author = rng.choice(ids)
        timeline.append((rng.random() * spread, functools.partial(network.post, author)))
    for peer_id in rng.sample(ids, round(churn * peers)):
        downtime = 0.2 + rng.random() * 1.8
        restart = functools.partial(network.restart, peer_id, downtime)
        timeline.append((rng.random() * window, restart))
    for offset, action in sorted(timeline, key=lambda item: item[0]):
        network.run_until(start + offset)
        action()
    done = network.run_until_converged(start + limit)
    useful = max(1, network.counters.events_stored)
    return SimReport(
        peers=peers,
        degree=degree,
        posts=posts,
        copies_per_delivery=network.counters.events_received / useful,
        bytes_per_delivery=network.counters.bytes / useful,
        converged_at=None if done is None else done - start,
        messages=network.counters.messages,
        restarts=network.counters.restarts,
    )
