"""LAN discovery: every peer broadcasts a small authenticated beacon and collects the others'.

A beacon says "a member of this class listens on TCP port P at the address this came from".
It carries a MAC keyed by a key derived from the class secret, so a stranger on the network
can neither make us dial an address of its choosing nor learn which class a beacon is for;
peers of other classes drop each other's beacons at the first byte that differs.

Each beacon is made fresh when sent and carries its sending time in milliseconds, strictly
increasing per sender: a receiver takes a beacon only if it is newer than the last one it took
from that peer, so a recorded beacon replayed from elsewhere moves nothing. It also carries a
random per-process instance id and the sender's signature, so a peer that hears a live twin of
its own identity (a copied data dir) knows for sure.

What is dropped is counted by reason and summarised once a minute, never logged per datagram;
the MAC is checked before any per-peer allowance is spent, so forgeries cost honest peers
nothing.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import random
import socket
import time
from collections.abc import Callable, Sequence

import attrs
import nacl.exceptions
import nacl.signing
import trio

from peer.errors import ValidationError
from peer.log import pack, unpack
from peer.net._interfaces import broadcast_interfaces, can_read_interfaces

log = logging.getLogger("peerclass.discovery")

MAGIC = b"PCB2"
#: Every peerclass beacon starts with this; the fourth byte is the beacon format version.
MAGIC_FAMILY = MAGIC[:3]
MAX_BEACON = 512
MAC_SIZE = 16
HINT_SIZE = 8
SIGNATURE_SIZE = 64
INSTANCE_SIZE = 8
BEACON_INTERVAL = 1.0
BEACON_JITTER = 0.25
ENTRY_TTL = 15.0
#: Beacons carry their sending time: older (or newer) than this, they are taken as replayed.
MAX_BEACON_AGE_MS = 120_000
MAX_ENTRIES = 1024
#: Beacons one peer may have taken per second from one source address (burst of twice that).
SOURCE_RATE = 5.0
MAX_SOURCES = 4096
#: Drops are summarised in one log line this often.
SUMMARY_INTERVAL = 60.0
#: Where interfaces cannot be read: the limited broadcast (leaves by the default route).
FALLBACK_BROADCAST = "255.255.255.255"

#: Reasons a datagram is dropped, as summaries name them. Others' beacons are normal on a
#: shared LAN and summarised at INFO; the rest suggest an attack or a misconfiguration.
OTHER_CLASS = "from another class"
REPEATED = "repeated (a second interface, or replayed)"
_QUIET_REASONS = {OTHER_CLASS, REPEATED}


class BeaconDropped(ValidationError):
    """A datagram that is not a usable beacon; ``reason`` is its category for summaries."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def beacon_key(class_secret: bytes) -> bytes:
    """The key for beacon MACs: derived from, and never revealing, the class secret."""
    return hashlib.blake2b(b"peerclass/beacon-key/1", key=class_secret, digest_size=32).digest()


def class_hint(key: bytes) -> bytes:
    """A short tag that lets peers drop other classes' beacons cheaply."""
    return hashlib.blake2b(b"peerclass/class-hint/1", key=key, digest_size=HINT_SIZE).digest()


@attrs.frozen
class Beacon:
    """One peer's announcement, as a receiver took it: whom to dial (``peer_id`` at the
    sender's address and ``port``), when it was sent (stale or replayed ones are dropped) and
    which process sent it (``instance``), so a copy of our own identity can be told from our
    own beacon heard back."""

    peer_id: bytes
    port: int
    sent_ms: int
    instance: bytes
    #: What the sender signed, and its signature (checked only when it matters: a twin).
    signed: bytes = attrs.field(eq=False, repr=False, default=b"")
    signature: bytes = attrs.field(eq=False, repr=False, default=b"")

    def signed_by_its_peer(self) -> bool:
        """Whether the identity key itself signed this beacon. The class MAC proves only
        class membership; before we block our own authoring because of a "twin", the beacon
        must prove the twin holds our identity key, or any classmate could silence us."""
        try:
            nacl.signing.VerifyKey(self.peer_id).verify(self.signed, self.signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            return False
        return True


def encode_beacon(
    key: bytes,
    signing_key: nacl.signing.SigningKey,
    port: int,
    *,
    sent_ms: int,
    instance: bytes,
) -> bytes:
    """One beacon datagram: the class hint first (other classes drop it cheaply), then what
    the identity signs (a twin must be provable), then the class MAC over all of it (a forger
    without the class secret is dropped before any signature is checked)."""
    peer_id = bytes(signing_key.verify_key)
    signed = MAGIC + class_hint(key) + pack([peer_id, port, sent_ms, instance])
    body = signed + signing_key.sign(signed).signature
    return body + hmac.digest(key, body, "blake2b")[:MAC_SIZE]


def decode_beacon(key: bytes, data: bytes, *, now_ms: int) -> Beacon | None:
    """The beacon in ``data``; None if it belongs to another class (not an error: just not
    ours); BeaconDropped, saying why, if it claims our class but is malformed, forged or
    stale. Cheap checks first: the MAC before any parsing."""
    if len(data) > MAX_BEACON:
        raise BeaconDropped("oversized", f"beacon of {len(data)} bytes exceeds {MAX_BEACON}")
    if not data.startswith(MAGIC):
        if data.startswith(MAGIC_FAMILY) and len(data) > len(MAGIC):
            raise BeaconDropped("from another peerclass version", "beacon of another version")
        raise BeaconDropped("not a peerclass beacon", "datagram is not a peerclass beacon")
    if data[len(MAGIC) : len(MAGIC) + HINT_SIZE] != class_hint(key):
        return None
    if len(data) < len(MAGIC) + HINT_SIZE + SIGNATURE_SIZE + MAC_SIZE + 1:
        raise BeaconDropped("truncated", "beacon is truncated")
    body, mac = data[:-MAC_SIZE], data[-MAC_SIZE:]
    if not hmac.compare_digest(mac, hmac.digest(key, body, "blake2b")[:MAC_SIZE]):
        raise BeaconDropped(
            "forged", "beacon tag does not verify (forged, or made with another secret)"
        )
    signed, signature = body[:-SIGNATURE_SIZE], body[-SIGNATURE_SIZE:]
    try:
        fields = unpack(signed[len(MAGIC) + HINT_SIZE :], what="beacon")
    except ValidationError as exc:
        raise BeaconDropped("malformed", str(exc)) from None
    if not (isinstance(fields, list) and len(fields) == 4):
        raise BeaconDropped("malformed", "beacon fields are malformed")
    peer_id, port, sent_ms, instance = fields
    if not (isinstance(peer_id, bytes) and len(peer_id) == 32):
        raise BeaconDropped("malformed", "beacon peer id is not a 32-byte key")
    if type(port) is not int or not 1 <= port <= 65535:
        raise BeaconDropped("malformed", f"beacon port {port!r} is out of range")
    if type(sent_ms) is not int:
        raise BeaconDropped("malformed", "beacon time is not an integer")
    if not (isinstance(instance, bytes) and len(instance) == INSTANCE_SIZE):
        raise BeaconDropped("malformed", "beacon instance id is malformed")
    skew = abs(now_ms - sent_ms)
    if skew > MAX_BEACON_AGE_MS:
        raise BeaconDropped(
            "too old, or from a clock more than 2 minutes off",
            f"beacon is {skew // 1000}s away from our clock (replayed, or the clocks differ by "
            f"more than {MAX_BEACON_AGE_MS // 1000}s; --peer HOST:PORT still works)",
        )
    return Beacon(peer_id, port, sent_ms, instance, signed, signature)


@attrs.define(eq=False)
class PeerTable:
    """Peers heard from recently: bounded, entries expire."""

    ttl: float = ENTRY_TTL
    max_entries: int = MAX_ENTRIES
    _entries: dict[bytes, tuple[str, int, float]] = attrs.field(factory=dict)
    _changed: trio.Event = attrs.field(factory=trio.Event)

    def saw(self, peer_id: bytes, host: str, port: int) -> None:
        """Note a beacon; wakes :meth:`wait_changed` only for a new peer or a new address, so
        the dialer reacts to news, not to every round of beacons. When full, the peer heard
        least recently goes: the table cannot grow with forged identities."""
        new = peer_id not in self._entries or self._entries[peer_id][:2] != (host, port)
        self._entries.pop(peer_id, None)
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))  # the least recently heard
        self._entries[peer_id] = (host, port, trio.current_time())
        if new:
            self._changed.set()
            self._changed = trio.Event()

    def live(self) -> dict[bytes, tuple[str, int]]:
        """The peers heard within ``ttl``, by id: what the dialer may dial (the passive view
        that replaces a lost link). Expired entries are dropped here, lazily."""
        now = trio.current_time()
        for peer_id in [p for p, e in self._entries.items() if now - e[2] > self.ttl]:
            del self._entries[peer_id]
        return {p: (h, port) for p, (h, port, _) in self._entries.items()}

    async def wait_changed(self) -> None:
        """Wait until a new peer or address is heard (the dialer's wake-up)."""
        await self._changed.wait()


@attrs.define(eq=False)
class _RateLimiter:
    """A token bucket per key (a source address and a peer id); the table is bounded."""

    rate: float = SOURCE_RATE
    _buckets: dict[object, tuple[float, float]] = attrs.field(factory=dict)

    def allow(self, source: object, now: float) -> bool:
        tokens, last = self._buckets.pop(source, (2 * self.rate, now))
        tokens = min(2 * self.rate, tokens + (now - last) * self.rate)
        if len(self._buckets) >= MAX_SOURCES:
            self._buckets.pop(next(iter(self._buckets)))
        allowed = tokens >= 1
        self._buckets[source] = (tokens - 1 if allowed else tokens, now)
        return allowed


@attrs.define(eq=False)
class DropCounts:
    """Datagrams dropped, by reason, since the last summary (and in all)."""

    total: int = 0
    _recent: collections.Counter[str] = attrs.field(factory=collections.Counter)
    _sources: dict[str, str] = attrs.field(factory=dict)

    def add(self, reason: str, source: str) -> None:
        """Count one drop; nothing is logged here, so a flood costs a counter, not a line."""
        self.total += 1
        self._recent[reason] += 1
        self._sources[reason] = source

    def recent(self) -> dict[str, int]:
        """Drops by reason since the last summary (for tests and status)."""
        return dict(self._recent)

    def summarise(self, seconds: float, what: str = "dropped beacons") -> tuple[int, str] | None:
        """One log line (level, text) for what was dropped since the last call; resets."""
        if not self._recent:
            return None
        parts = [
            f"{count} {reason} (last from {self._sources[reason]})"
            for reason, count in self._recent.most_common()
        ]
        quiet = set(self._recent) <= _QUIET_REASONS
        self._recent.clear()
        self._sources.clear()
        text = f"{what} in the last {seconds:.0f}s: " + ", ".join(parts)
        return (logging.INFO if quiet else logging.WARNING), text


@attrs.frozen
class Twin:
    """Our own identity, live in another process (a copied data dir) at this address."""

    host: str
    port: int


@attrs.define(eq=False)
class BeaconFilter:
    """Decides, datagram by datagram, what a receiver takes (sans-IO: the caller gives the
    time). Order: cheap checks, the MAC, freshness, newer than the last taken from that
    peer, then that peer's allowance at that source: nothing forged or replayed spends it."""

    key: bytes
    own_id: bytes
    own_instance: bytes
    #: When this process started (wall clock, ms): older beacons of ours are not a twin.
    started_ms: int
    drops: DropCounts = attrs.field(factory=DropCounts)
    _limiter: _RateLimiter = attrs.field(factory=_RateLimiter)
    _newest: dict[bytes, int] = attrs.field(factory=dict)

    def accept(self, data: bytes, host: str, now: float, now_ms: int) -> Beacon | Twin | None:
        """What to do with one datagram from ``host``: a Beacon to note, a Twin to act on, or
        None (counted in ``drops`` with its reason). ``now`` is the event loop's clock for the
        rate limit, ``now_ms`` the wall clock for freshness: passed in, so tests need no
        sockets and no waiting."""
        try:
            beacon = decode_beacon(self.key, data, now_ms=now_ms)
        except BeaconDropped as exc:
            self.drops.add(exc.reason, host)
            return None
        if beacon is None:
            self.drops.add(OTHER_CLASS, host)
            return None
        if beacon.peer_id == self.own_id and beacon.instance == self.own_instance:
            return None  # our own beacon, heard back
        last = self._newest.pop(beacon.peer_id, None)
        if last is not None:
            self._newest[beacon.peer_id] = last
            if beacon.sent_ms <= last:
                self.drops.add(REPEATED if beacon.sent_ms == last else "replayed", host)
                return None
        if not self._limiter.allow((host, beacon.peer_id), now):
            self.drops.add("over the rate limit", host)
            return None
        if len(self._newest) >= 4 * MAX_ENTRIES:
            self._newest.pop(next(iter(self._newest)))
        self._newest[beacon.peer_id] = beacon.sent_ms
        if beacon.peer_id != self.own_id:
            return beacon
        if beacon.sent_ms > self.started_ms and beacon.signed_by_its_peer():
            return Twin(host, beacon.port)
        self.drops.add("our own identity, not provably live", host)
        return None


def _udp_socket() -> trio.socket.SocketType:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    return sock


def every_interface() -> list[str]:
    """Broadcast addresses for "every up interface" (re-read each round, so a network that
    comes or goes is followed); the limited broadcast where interfaces cannot be read."""
    if not can_read_interfaces():
        return [FALLBACK_BROADCAST]
    return sorted({i.broadcast for i in broadcast_interfaces()})


@attrs.define(eq=False)
class BeaconSender:
    """Makes each round's beacon fresh: its time strictly increases, whatever the clock does."""

    key: bytes
    signing_key: nacl.signing.SigningKey
    port: int
    instance: bytes
    clock: Callable[[], float] = time.time
    _last_ms: int = 0

    def next_datagram(self) -> bytes:
        """This round's beacon: a clock stepped back cannot make it look replayed to the
        receivers (they drop anything not newer than the last they took from us)."""
        self._last_ms = max(int(self.clock() * 1000), self._last_ms + 1)
        return encode_beacon(
            self.key, self.signing_key, self.port, sent_ms=self._last_ms, instance=self.instance
        )


async def send_beacons(
    sender: BeaconSender,
    targets: Callable[[], Sequence[str]],
    port: int,
    *,
    interval: float = BEACON_INTERVAL,
) -> None:
    """Every ``interval`` seconds (with jitter), send a fresh beacon to each of ``targets()``
    (broadcast addresses, read again each round) until cancelled."""
    current: list[str] | None = None
    failing: dict[str, str] = {}
    with _udp_socket() as sock:
        while True:
            addresses = list(targets())
            if addresses != current:
                current = addresses
                if addresses:
                    log.info("sending beacons to %s", ", ".join(addresses))
                else:
                    log.warning(
                        "no network interface with a broadcast address is up: discovery "
                        "waits for one (--peer HOST:PORT connects without it)"
                    )
            datagram = sender.next_datagram()
            for address in addresses:
                try:
                    await sock.sendto(datagram, (address, port))
                except OSError as exc:  # e.g. no route while the network is down
                    if failing.get(address) != str(exc):
                        log.warning("could not send beacons to %s: %s", address, exc)
                    failing[address] = str(exc)
                else:
                    if failing.pop(address, None) is not None:
                        log.info("sending beacons to %s again", address)
            await trio.sleep(interval + random.uniform(-BEACON_JITTER, BEACON_JITTER))


async def receive_beacons(
    beacon_filter: BeaconFilter,
    port: int,
    on_beacon: Callable[[Beacon, str], None],
    on_twin: Callable[[Twin], None] = lambda twin: None,
    *,
    clock: Callable[[], float] = time.time,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Collect beacons on UDP ``port``: ``on_beacon(beacon, host)`` for other peers' beacons,
    ``on_twin`` for a live twin of our own identity; drops summarised once a minute."""
    with _udp_socket() as sock:
        await sock.bind(("", port))
        task_status.started()
        next_summary = trio.current_time() + SUMMARY_INTERVAL
        while True:
            with trio.move_on_at(next_summary):
                data, (host, *_) = await sock.recvfrom(MAX_BEACON + 1)
                heard = beacon_filter.accept(data, host, trio.current_time(), int(clock() * 1000))
                if isinstance(heard, Beacon):
                    on_beacon(heard, host)
                elif isinstance(heard, Twin):
                    on_twin(heard)
            if trio.current_time() >= next_summary:
                summary = beacon_filter.drops.summarise(SUMMARY_INTERVAL)
                if summary is not None:
                    log.log(*summary)
                next_summary = trio.current_time() + SUMMARY_INTERVAL
