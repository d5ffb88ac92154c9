"""LAN discovery: every peer broadcasts a small authenticated beacon and collects the others'.

A beacon says "a member of this class listens on TCP port P at the address this came from".
It carries a MAC keyed by a key derived from the class secret, so a stranger on the network
can neither make us dial an address of its choosing nor learn which class a beacon is for;
peers of other classes drop each other's beacons at the first byte that differs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import socket
import time
from collections.abc import Callable

import attrs
import trio

from peer.errors import ValidationError
from peer.log import pack, unpack

log = logging.getLogger("peerclass.discovery")

MAGIC = b"PCB1"
MAX_BEACON = 512
MAC_SIZE = 16
HINT_SIZE = 8
BEACON_INTERVAL = 1.0
BEACON_JITTER = 0.25
ENTRY_TTL = 15.0
#: Beacons carry their sending time: older (or newer) than this, they are taken as replayed.
MAX_BEACON_AGE = 120
MAX_ENTRIES = 1024
#: Beacons a single source address may have processed per second (burst of twice that).
SOURCE_RATE = 5.0
MAX_SOURCES = 4096


def beacon_key(class_secret: bytes) -> bytes:
    """The key for beacon MACs: derived from, and never revealing, the class secret."""
    return hashlib.blake2b(b"peerclass/beacon-key/1", key=class_secret, digest_size=32).digest()


def class_hint(key: bytes) -> bytes:
    """A short tag that lets peers drop other classes' beacons cheaply."""
    return hashlib.blake2b(b"peerclass/class-hint/1", key=key, digest_size=HINT_SIZE).digest()


@attrs.frozen
class Beacon:
    peer_id: bytes
    port: int


def encode_beacon(key: bytes, beacon: Beacon, *, sent_at: int | None = None) -> bytes:
    now = int(time.time()) if sent_at is None else sent_at
    body = MAGIC + class_hint(key) + pack([beacon.peer_id, beacon.port, now])
    return body + hmac.digest(key, body, "blake2b")[:MAC_SIZE]


def decode_beacon(key: bytes, data: bytes) -> Beacon | None:
    """The beacon in ``data``; None if it belongs to another class (not an error: just not
    ours); ValidationError, saying why, if it claims our class but is malformed or forged."""
    if len(data) > MAX_BEACON:
        raise ValidationError(f"beacon of {len(data)} bytes exceeds {MAX_BEACON}")
    if not data.startswith(MAGIC):
        raise ValidationError("datagram is not a peerclass beacon")
    if data[len(MAGIC) : len(MAGIC) + HINT_SIZE] != class_hint(key):
        return None
    if len(data) < len(MAGIC) + HINT_SIZE + MAC_SIZE + 1:
        raise ValidationError("beacon is truncated")
    body, mac = data[:-MAC_SIZE], data[-MAC_SIZE:]
    if not hmac.compare_digest(mac, hmac.digest(key, body, "blake2b")[:MAC_SIZE]):
        raise ValidationError("beacon tag does not verify (forged, or made with another secret)")
    fields = unpack(body[len(MAGIC) + HINT_SIZE :], what="beacon")
    if not (isinstance(fields, list) and len(fields) == 3):
        raise ValidationError("beacon fields are malformed")
    peer_id, port, sent_at = fields
    if not (isinstance(peer_id, bytes) and len(peer_id) == 32):
        raise ValidationError("beacon peer id is not a 32-byte key")
    if type(port) is not int or not 1 <= port <= 65535:
        raise ValidationError(f"beacon port {port!r} is out of range")
    if type(sent_at) is not int:
        raise ValidationError("beacon time is not an integer")
    skew = abs(int(time.time()) - sent_at)
    if skew > MAX_BEACON_AGE:
        # A beacon recorded earlier and replayed (perhaps from another address): ignored.
        raise ValidationError(
            f"beacon is {skew}s away from our clock (replayed, or the clocks differ by more "
            f"than {MAX_BEACON_AGE}s; --peer HOST:PORT still works)"
        )
    return Beacon(peer_id, port)


@attrs.define(eq=False)
class PeerTable:
    """Peers heard from recently: bounded, entries expire."""

    ttl: float = ENTRY_TTL
    max_entries: int = MAX_ENTRIES
    _entries: dict[bytes, tuple[str, int, float]] = attrs.field(factory=dict)
    _changed: trio.Event = attrs.field(factory=trio.Event)

    def saw(self, peer_id: bytes, host: str, port: int) -> None:
        new = peer_id not in self._entries or self._entries[peer_id][:2] != (host, port)
        self._entries.pop(peer_id, None)
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))  # the least recently heard
        self._entries[peer_id] = (host, port, trio.current_time())
        if new:
            self._changed.set()
            self._changed = trio.Event()

    def live(self) -> dict[bytes, tuple[str, int]]:
        now = trio.current_time()
        for peer_id in [p for p, e in self._entries.items() if now - e[2] > self.ttl]:
            del self._entries[peer_id]
        return {p: (h, port) for p, (h, port, _) in self._entries.items()}

    async def wait_changed(self) -> None:
        await self._changed.wait()


@attrs.define(eq=False)
class _RateLimiter:
    """A token bucket per source address; the table of sources is bounded."""

    rate: float = SOURCE_RATE
    _buckets: dict[str, tuple[float, float]] = attrs.field(factory=dict)

    def allow(self, source: str, now: float) -> bool:
        tokens, last = self._buckets.pop(source, (2 * self.rate, now))
        tokens = min(2 * self.rate, tokens + (now - last) * self.rate)
        if len(self._buckets) >= MAX_SOURCES:
            self._buckets.pop(next(iter(self._buckets)))
        allowed = tokens >= 1
        self._buckets[source] = (tokens - 1 if allowed else tokens, now)
        return allowed


def _udp_socket() -> trio.socket.SocketType:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    return sock


async def send_beacons(
    key: bytes, beacon: Beacon, address: str, port: int, *, interval: float = BEACON_INTERVAL
) -> None:
    """Broadcast our beacon every ``interval`` seconds (with jitter) until cancelled."""
    datagram = encode_beacon(key, beacon)
    with _udp_socket() as sock:
        while True:
            try:
                await sock.sendto(datagram, (address, port))
            except OSError as exc:  # e.g. no route while the network is down: try again later
                log.warning("could not send beacon to %s:%d: %s", address, port, exc)
            await trio.sleep(interval + random.uniform(-BEACON_JITTER, BEACON_JITTER))


async def receive_beacons(
    key: bytes,
    own_id: bytes,
    port: int,
    on_beacon: Callable[[Beacon, str], None],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Collect beacons on UDP ``port``; call ``on_beacon(beacon, host)`` for valid ones."""
    limiter = _RateLimiter()
    with _udp_socket() as sock:
        await sock.bind(("", port))
        task_status.started()
        while True:
            data, (host, _src_port, *_) = await sock.recvfrom(MAX_BEACON + 1)
            if not limiter.allow(host, trio.current_time()):
                continue
            try:
                beacon = decode_beacon(key, data)
            except ValidationError as exc:
                log.warning("dropped datagram from %s: %s", host, exc)
                continue
            if beacon is not None and beacon.peer_id != own_id:
                on_beacon(beacon, host)
