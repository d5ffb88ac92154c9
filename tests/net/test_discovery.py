"""Discovery: beacon encoding and its refusals, the receiver's filter (MAC before any
allowance, replays, twins, counted drops), the bounded peer table, the rate limiter, real UDP
beacons on loopback (127.255.255.255 only), and sending on every interface (in network
namespaces this test makes)."""

from __future__ import annotations

import functools
import hmac
import json
import logging
import socket
import sys
import threading
import time

import nacl.signing
import pytest
import trio
import trio.testing

from peer.log._codec import pack
from peer.net import _discovery as discovery
from peer.net._discovery import (
    HINT_SIZE,
    MAC_SIZE,
    MAGIC,
    MAX_BEACON,
    REPEATED,
    SIGNATURE_SIZE,
    Beacon,
    BeaconDropped,
    BeaconFilter,
    BeaconSender,
    PeerTable,
    Twin,
    _RateLimiter,
    beacon_key,
    class_hint,
    decode_beacon,
    encode_beacon,
)
from peer.testing import LOOPBACK_BROADCAST, free_udp_port
from tests.netns import Namespaces, netns_unavailable

KEY = beacon_key(b"s" * 32)
OTHER_KEY = beacon_key(b"t" * 32)
SIGNER = nacl.signing.SigningKey(b"1" * 32)
SIGNER2 = nacl.signing.SigningKey(b"2" * 32)
PEER = bytes(SIGNER.verify_key)
PEER2 = bytes(SIGNER2.verify_key)
INSTANCE = b"i" * 8
NOW_MS = 1_800_000_000_000


def beacon(
    key: bytes = KEY,
    signer: nacl.signing.SigningKey = SIGNER,
    port: int = 4242,
    sent_ms: int = NOW_MS,
    instance: bytes = INSTANCE,
) -> bytes:
    return encode_beacon(key, signer, port, sent_ms=sent_ms, instance=instance)


def signed_beacon(key: bytes, fields: object, *, hint_key: bytes | None = None) -> bytes:
    """A beacon with arbitrary fields and a valid tag under ``key``."""
    body = MAGIC + class_hint(hint_key or key) + pack(fields) + b"\0" * SIGNATURE_SIZE
    return body + hmac.digest(key, body, "blake2b")[:MAC_SIZE]


def decode(data: bytes, now_ms: int = NOW_MS) -> Beacon | None:
    return decode_beacon(KEY, data, now_ms=now_ms)


# ---- encoding ---------------------------------------------------------------------------


def test_beacon_round_trip() -> None:
    data = beacon()
    assert len(data) <= MAX_BEACON
    assert data.startswith(MAGIC)
    assert decode(data) == Beacon(PEER, 4242, NOW_MS, INSTANCE)
    decoded = decode(data)
    assert decoded is not None and decoded.signed_by_its_peer()


def test_beacon_key_depends_on_the_secret_and_hides_it() -> None:
    assert beacon_key(b"s" * 32) == KEY
    assert KEY != OTHER_KEY
    assert b"s" * 32 not in beacon()


def test_another_class_beacon_is_not_ours() -> None:
    assert decode(beacon(OTHER_KEY)) is None


def test_forged_tag_is_refused() -> None:
    data = beacon()
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(BeaconDropped, match="tag does not verify") as caught:
        decode(flipped)
    assert caught.value.reason == "forged"


def test_changed_port_with_the_old_tag_is_refused() -> None:
    data = beacon()
    forged = MAGIC + class_hint(KEY) + pack([PEER, 22, NOW_MS, INSTANCE]) + data[-80:]
    with pytest.raises(BeaconDropped, match="tag does not verify"):
        decode(forged)


def test_our_hint_with_a_tag_made_by_another_key_is_refused() -> None:
    forged = signed_beacon(OTHER_KEY, [PEER, 4242, NOW_MS, INSTANCE], hint_key=KEY)
    with pytest.raises(BeaconDropped, match="forged, or made with another secret"):
        decode(forged)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"x" * (MAX_BEACON + 1), f"exceeds {MAX_BEACON}"),
        (MAGIC + b"\x00" * (MAX_BEACON - len(MAGIC) + 1), f"exceeds {MAX_BEACON}"),
        (b"", "not a peerclass beacon"),
        (b"GET / HTTP/1.1\r\n", "not a peerclass beacon"),
        (b"PCB1" + class_hint(KEY) + b"\x00" * 40, "another version"),
        (MAGIC + class_hint(KEY), "truncated"),
        (MAGIC + class_hint(KEY) + b"\x00" * (MAC_SIZE + SIGNATURE_SIZE), "truncated"),
    ],
)
def test_oversized_and_garbage_datagrams(data: bytes, expected: str) -> None:
    with pytest.raises(BeaconDropped, match=expected):
        decode(data)


def test_short_garbage_with_magic_is_not_ours() -> None:
    # The hint differs (too short to match): another class, silently ignored.
    assert decode(MAGIC + b"\x01") is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"peer": PEER}, "fields are malformed"),
        ([PEER, 4242, NOW_MS], "fields are malformed"),
        ([PEER[:31], 4242, NOW_MS, INSTANCE], "peer id is not a 32-byte key"),
        (["peer", 4242, NOW_MS, INSTANCE], "peer id is not a 32-byte key"),
        ([PEER, 0, NOW_MS, INSTANCE], "port 0 is out of range"),
        ([PEER, 65536, NOW_MS, INSTANCE], "port 65536 is out of range"),
        ([PEER, "80", NOW_MS, INSTANCE], "port '80' is out of range"),
        ([PEER, 80, "now", INSTANCE], "time is not an integer"),
        ([PEER, 80, NOW_MS, b"short"], "instance id is malformed"),
    ],
)
def test_authentic_but_malformed_fields(fields: object, expected: str) -> None:
    with pytest.raises(BeaconDropped, match=expected):
        decode(signed_beacon(KEY, fields))


def test_authentic_but_undecodable_body() -> None:
    body = MAGIC + class_hint(KEY) + b"\xc1\xc1" + b"\0" * SIGNATURE_SIZE
    data = body + hmac.digest(KEY, body, "blake2b")[:MAC_SIZE]
    with pytest.raises(BeaconDropped, match="malformed beacon"):
        decode(data)
    assert len(class_hint(KEY)) == HINT_SIZE


def test_a_beacon_far_from_our_clock_is_refused() -> None:
    data = beacon(sent_ms=NOW_MS - 600_000)
    with pytest.raises(BeaconDropped, match="replayed, or the clocks differ"):
        decode(data)
    assert decode(beacon(sent_ms=NOW_MS - 30_000)) is not None
    assert decode(beacon(sent_ms=NOW_MS + 30_000)) is not None


def test_each_beacon_sent_is_fresh_and_newer_than_the_last() -> None:
    clock = [NOW_MS / 1000]
    sender = BeaconSender(KEY, SIGNER, 4242, INSTANCE, clock=lambda: clock[0])
    first = decode(sender.next_datagram())
    clock[0] += 600  # ten minutes on: the beacon carries the new time
    later = decode(sender.next_datagram(), now_ms=NOW_MS + 600_000)
    clock[0] -= 5  # the wall clock stepped back: beacons still go forward
    again = decode(sender.next_datagram(), now_ms=NOW_MS + 600_000)
    assert first is not None and later is not None and again is not None
    assert (first.sent_ms, later.sent_ms, again.sent_ms) == (
        NOW_MS,
        NOW_MS + 600_000,
        NOW_MS + 600_001,
    )


# ---- the receiver's filter --------------------------------------------------------------


def make_filter(
    own: nacl.signing.SigningKey = SIGNER2, started_ms: int = NOW_MS - 1000
) -> BeaconFilter:
    return BeaconFilter(KEY, bytes(own.verify_key), b"o" * 8, started_ms)


def test_filter_takes_each_peer_only_forward_in_time() -> None:
    f = make_filter()
    assert f.accept(beacon(sent_ms=NOW_MS), "10.0.0.1", 0.0, NOW_MS) == Beacon(
        PEER, 4242, NOW_MS, INSTANCE
    )
    # The same beacon again (another interface of the sender, or a replay): not taken.
    assert f.accept(beacon(sent_ms=NOW_MS), "10.0.0.9", 0.1, NOW_MS) is None
    # An older one (recorded earlier, replayed now): not taken.
    assert f.accept(beacon(sent_ms=NOW_MS - 1000), "10.0.0.9", 0.2, NOW_MS) is None
    # A newer one from a new address (the laptop moved): taken.
    moved = f.accept(beacon(sent_ms=NOW_MS + 1000), "10.0.0.2", 1.0, NOW_MS + 1000)
    assert isinstance(moved, Beacon) and moved.sent_ms == NOW_MS + 1000
    assert f.drops.recent() == {REPEATED: 1, "replayed": 1}


def test_forged_beacons_do_not_spend_an_honest_peers_allowance() -> None:
    f = make_filter()
    forged = bytearray(beacon())
    forged[-1] ^= 1
    for _ in range(10_000):
        assert f.accept(bytes(forged), "10.0.0.1", 0.0, NOW_MS) is None
    assert isinstance(f.accept(beacon(), "10.0.0.1", 0.0, NOW_MS), Beacon)
    assert f.drops.recent() == {"forged": 10_000}


def test_fresh_beacons_beyond_the_allowance_are_dropped_per_source_and_peer() -> None:
    f = make_filter()
    taken = [
        f.accept(beacon(sent_ms=NOW_MS + i), "10.0.0.1", 0.0, NOW_MS) is not None for i in range(15)
    ]
    assert taken == [True] * 10 + [False] * 5  # a burst of twice the rate
    # Another peer at the same address has its own allowance.
    assert f.accept(beacon(signer=nacl.signing.SigningKey(b"3" * 32)), "10.0.0.1", 0.0, NOW_MS)
    assert f.drops.recent() == {"over the rate limit": 5}


def test_our_own_beacon_heard_back_is_ignored_silently() -> None:
    f = BeaconFilter(KEY, PEER, INSTANCE, NOW_MS - 1000)
    assert f.accept(beacon(), "10.0.0.1", 0.0, NOW_MS) is None
    assert f.drops.total == 0


def test_a_live_twin_of_our_identity_is_reported() -> None:
    f = BeaconFilter(KEY, PEER, b"o" * 8, NOW_MS - 1000)
    assert f.accept(beacon(instance=b"x" * 8, port=5555), "10.0.0.7", 0.0, NOW_MS) == Twin(
        "10.0.0.7", 5555
    )


def test_our_identity_in_a_beacon_from_before_we_started_is_no_twin() -> None:
    # A beacon of our previous run, replayed: not proof of a live copy.
    f = BeaconFilter(KEY, PEER, b"o" * 8, NOW_MS + 1)
    assert f.accept(beacon(instance=b"x" * 8), "10.0.0.7", 0.0, NOW_MS) is None
    assert f.drops.recent() == {"our own identity, not provably live": 1}


def test_a_member_cannot_forge_a_twin_of_someone_else() -> None:
    # Made with the class key (a member can) but signed by another key than the id's.
    forged = bytearray(beacon(signer=SIGNER2, instance=b"x" * 8))
    body = bytes(forged[:-MAC_SIZE]).replace(PEER2, PEER)
    forged = bytearray(body + hmac.digest(KEY, body, "blake2b")[:MAC_SIZE])
    f = BeaconFilter(KEY, PEER, b"o" * 8, NOW_MS - 1000)
    assert f.accept(bytes(forged), "10.0.0.7", 0.0, NOW_MS) is None
    assert f.drops.recent() == {"our own identity, not provably live": 1}


def test_drops_are_summarised_in_one_line_then_reset() -> None:
    f = make_filter()
    for _ in range(12):
        f.accept(beacon(OTHER_KEY), "10.0.0.3", 0.0, NOW_MS)
    summary = f.drops.summarise(60)
    assert summary == (
        logging.INFO,
        "dropped beacons in the last 60s: 12 from another class (last from 10.0.0.3)",
    )
    for _ in range(3):
        f.accept(b"junk", "10.0.0.4", 0.0, NOW_MS)
    level, text = f.drops.summarise(60) or (0, "")
    assert level == logging.WARNING and "3 not a peerclass beacon" in text
    assert f.drops.summarise(60) is None
    assert f.drops.total == 15


# ---- the peer table ---------------------------------------------------------------------


async def test_peer_table_entries_expire(autojump_clock: trio.testing.MockClock) -> None:
    table = PeerTable(ttl=15.0)
    table.saw(PEER, "127.0.0.1", 1000)
    await trio.sleep(10)
    table.saw(PEER2, "127.0.0.2", 2000)
    assert table.live() == {PEER: ("127.0.0.1", 1000), PEER2: ("127.0.0.2", 2000)}
    await trio.sleep(6)  # PEER last heard 16 s ago, PEER2 6 s ago
    assert table.live() == {PEER2: ("127.0.0.2", 2000)}
    table.saw(PEER2, "127.0.0.2", 2000)  # heard again: its clock restarts
    await trio.sleep(14)
    assert table.live() == {PEER2: ("127.0.0.2", 2000)}
    await trio.sleep(2)
    assert table.live() == {}


async def test_peer_table_is_bounded_dropping_the_least_recently_heard(
    autojump_clock: trio.testing.MockClock,
) -> None:
    table = PeerTable(max_entries=3)
    ids = [bytes([i]) * 32 for i in range(5)]
    for i, peer_id in enumerate(ids[:3]):
        table.saw(peer_id, f"127.0.0.{i + 1}", 1000 + i)
        await trio.sleep(1)
    table.saw(ids[0], "127.0.0.1", 1000)  # refreshes the oldest
    table.saw(ids[3], "127.0.0.4", 1003)  # evicts ids[1], now the least recently heard
    assert set(table.live()) == {ids[0], ids[2], ids[3]}
    table.saw(ids[4], "127.0.0.5", 1004)
    assert set(table.live()) == {ids[0], ids[3], ids[4]}
    assert len(table.live()) == 3


async def test_peer_table_signals_new_or_moved_peers_only() -> None:
    table = PeerTable()
    woke: list[str] = []

    async def waiter(name: str, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        await table.wait_changed()
        woke.append(name)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(waiter, "first")
            table.saw(PEER, "127.0.0.1", 1000)  # new
            await trio.testing.wait_all_tasks_blocked()
            assert woke == ["first"]
            await nursery.start(waiter, "second")
            table.saw(PEER, "127.0.0.1", 1000)  # same address: no news
            await trio.testing.wait_all_tasks_blocked()
            assert woke == ["first"]
            table.saw(PEER, "127.0.0.1", 1001)  # moved to another port
            await trio.testing.wait_all_tasks_blocked()
            assert woke == ["first", "second"]


# ---- the rate limiter -------------------------------------------------------------------


def test_rate_limiter_allows_a_burst_then_the_rate() -> None:
    limiter = _RateLimiter(rate=5.0)
    allowed = [limiter.allow("10.0.0.1", 100.0) for _ in range(15)]
    assert allowed == [True] * 10 + [False] * 5  # burst of twice the rate
    assert not limiter.allow("10.0.0.1", 100.1)  # half a token: not yet
    assert limiter.allow("10.0.0.1", 100.25)  # a token has accrued
    assert [limiter.allow("10.0.0.1", 101.25) for _ in range(6)] == [True] * 5 + [False]
    # Idle long: the bucket refills to the burst, never beyond.
    assert sum(limiter.allow("10.0.0.1", 1000.0) for _ in range(30)) == 10


def test_rate_limiter_counts_each_source_separately() -> None:
    limiter = _RateLimiter(rate=1.0)
    assert [limiter.allow("a", 0.0) for _ in range(3)] == [True, True, False]
    assert [limiter.allow("b", 0.0) for _ in range(3)] == [True, True, False]


def test_rate_limiter_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "MAX_SOURCES", 8)
    limiter = _RateLimiter(rate=1.0)
    for i in range(100):
        assert limiter.allow(f"10.0.0.{i}", 0.0)
    assert len(limiter._buckets) <= 8


# ---- real UDP on loopback ---------------------------------------------------------------


def loopback(_: object = None) -> list[str]:
    return [LOOPBACK_BROADCAST]


async def test_beacons_over_udp_broadcast_on_loopback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="peerclass.discovery")
    port = free_udp_port()
    own = nacl.signing.SigningKey(b"9" * 32)
    heard: list[tuple[Beacon, str]] = []
    got = trio.Event()
    beacon_filter = BeaconFilter(KEY, bytes(own.verify_key), b"o" * 8, 0)

    def on_beacon(b: Beacon, host: str) -> None:
        heard.append((b, host))
        got.set()

    now_ms = int(time.time() * 1000)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(discovery.receive_beacons, beacon_filter, port, on_beacon)
            # What must cause no call, sent first (loopback keeps a socket's datagrams in order).
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                for datagram in (
                    beacon(OTHER_KEY, SIGNER2, 1111, now_ms),  # another class
                    signed_beacon(OTHER_KEY, [PEER2, 2222, now_ms, INSTANCE], hint_key=KEY),
                    beacon(KEY, own, 3333, now_ms, b"o" * 8),  # ourselves
                    b"garbage",
                ):
                    raw.sendto(datagram, (LOOPBACK_BROADCAST, port))
            other = BeaconSender(OTHER_KEY, SIGNER2, 5555, INSTANCE)
            nursery.start_soon(discovery.send_beacons, other, loopback, port)
            ours = BeaconSender(KEY, SIGNER, 4242, INSTANCE)
            nursery.start_soon(discovery.send_beacons, ours, loopback, port)
            await got.wait()
            nursery.cancel_scope.cancel()
    assert heard[0][0].peer_id == PEER and heard[0][0].port == 4242
    assert {b.peer_id for b, _ in heard} == {PEER}
    assert all(host.startswith("127.") for _, host in heard)
    recent = beacon_filter.drops.recent()
    assert recent["forged"] == 1 and recent["not a peerclass beacon"] == 1
    assert recent[discovery.OTHER_CLASS] >= 2
    # Dropped datagrams are counted, not logged one by one.
    assert not any("dropped" in r.getMessage() for r in caplog.records)


async def test_discovery_still_works_after_ten_minutes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Each beacon is made when sent: the receiver, whose clock moves with the sender's,
    keeps taking them long past the two minutes a beacon stays fresh."""
    port = free_udp_port()
    start = time.time()

    def clock() -> float:  # wall clock time that moves with the (autojumping) trio clock
        return start + trio.current_time()

    heard_at: list[float] = []
    beacon_filter = BeaconFilter(KEY, PEER2, b"o" * 8, 0)
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(
                    discovery.receive_beacons,
                    beacon_filter,
                    port,
                    lambda b, host: heard_at.append(trio.current_time()),
                    clock=clock,
                )
            )
            sender = BeaconSender(KEY, SIGNER, 4242, INSTANCE, clock=clock)
            nursery.start_soon(discovery.send_beacons, sender, loopback, port)
            await trio.sleep(10 * 60)
            nursery.cancel_scope.cancel()
    last_minute = [t for t in heard_at if t >= 9 * 60]
    assert len(last_minute) >= 45, (len(heard_at), beacon_filter.drops.recent())
    assert beacon_filter.drops.total == 0


async def test_a_flood_of_forged_beacons_from_an_honest_address_does_not_hide_a_new_peer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Forged beacons claiming the honest peer's id, sent from the honest peer's own source
    address as fast as one thread can, while that peer is discovered for the first time."""
    caplog.set_level(logging.INFO, logger="peerclass.discovery")
    port = free_udp_port()
    beacon_filter = BeaconFilter(KEY, PEER2, b"o" * 8, 0)
    found = trio.Event()
    flooding = threading.Event()
    stop = threading.Event()
    forged = bytearray(beacon(sent_ms=int(time.time() * 1000)))
    forged[-3] ^= 0x40

    def flood() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            while not stop.is_set():
                for _ in range(200):
                    sock.sendto(bytes(forged), ("127.0.0.1", port))
                flooding.set()

    def on_beacon(b: Beacon, host: str) -> None:
        if b.peer_id == PEER and host == "127.0.0.1":
            found.set()

    flooder = threading.Thread(target=flood, daemon=True)
    try:
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                await nursery.start(discovery.receive_beacons, beacon_filter, port, on_beacon)
                flooder.start()
                await trio.to_thread.run_sync(flooding.wait)
                # The honest peer starts only once the flood is being taken in (1,000 forged
                # beacons dropped), whatever the machine's load; the flood goes on meanwhile.
                while beacon_filter.drops.recent()["forged"] < 1000:  # noqa: ASYNC110
                    await trio.sleep(0.01)
                honest = BeaconSender(KEY, SIGNER, 4242, INSTANCE)
                nursery.start_soon(discovery.send_beacons, honest, loopback, port)
                await found.wait()
                nursery.cancel_scope.cancel()
    finally:
        stop.set()
        flooder.join(5)
    assert beacon_filter.drops.recent()["forged"] >= 1000
    assert not any("dropped" in r.getMessage() for r in caplog.records)


async def test_a_replayed_beacon_from_another_address_does_not_move_the_entry() -> None:
    port = free_udp_port()
    table = PeerTable()
    beacon_filter = BeaconFilter(KEY, PEER2, b"o" * 8, 0)
    now_ms = int(time.time() * 1000)
    recorded = beacon(sent_ms=now_ms - 2000, port=4242)
    genuine = beacon(sent_ms=now_ms, port=4242)

    def send_from(source: str, data: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.sendto(data, ("127.0.0.1", port))

    async def drops(count: int) -> None:
        while beacon_filter.drops.total < count:  # noqa: ASYNC110 (fed by the socket)
            await trio.sleep(0.01)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(
                discovery.receive_beacons,
                beacon_filter,
                port,
                lambda b, host: table.saw(b.peer_id, host, b.port),
            )
            send_from("127.0.0.1", genuine)
            while PEER not in table.live():  # noqa: ASYNC110
                await trio.sleep(0.01)
            send_from("127.0.0.2", genuine)  # the same beacon, replayed from elsewhere
            await drops(1)
            send_from("127.0.0.3", recorded)  # an older one
            await drops(2)
            assert table.live() == {PEER: ("127.0.0.1", 4242)}
            # The peer itself moving (a newer beacon from a new address) does move it.
            send_from("127.0.0.4", beacon(sent_ms=now_ms + 1000, port=4242))
            while table.live()[PEER][0] != "127.0.0.4":  # noqa: ASYNC110
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert beacon_filter.drops.recent() == {REPEATED: 1, "replayed": 1}


# ---- every interface (in network namespaces made here) ----------------------------------

_LIST_INTERFACES = (
    "import json, attrs; from peer.net._interfaces import broadcast_interfaces; "
    "print(json.dumps([attrs.astuple(i) for i in broadcast_interfaces()]))"
)
_RECEIVE_ONE = (
    "import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('', int(sys.argv[1]))); "
    "print('ready', flush=True); s.settimeout(20); data, (host, _) = s.recvfrom(1024); "
    "print(host, flush=True)"
)
_SEND_BEACONS = (
    "import sys, trio, nacl.signing; from peer.net import _discovery as d; "
    "sender = d.BeaconSender(b'k' * 32, nacl.signing.SigningKey(b'1' * 32), 4242, b'i' * 8); "
    "trio.run(d.send_beacons, sender, d.every_interface, int(sys.argv[1]))"
)


@pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable()))
def test_beacons_go_to_the_broadcast_address_of_every_interface_that_is_up() -> None:
    """A sender namespace with two links up (a /24 and a /25), one link down, a link with no
    IPv4 address, and loopback; a receiver at the far end of each link."""
    with Namespaces() as ns:
        sender, left, right, dark = ns.add("tx"), ns.add("l"), ns.add("r"), ns.add("d")
        ns.link(sender, "eth1", "10.91.1.1/24", left, "eth0", "10.91.1.2/24")
        ns.link(sender, "eth2", "10.91.2.1/25", right, "eth0", "10.91.2.2/25")
        ns.link(sender, "eth3", "10.91.3.1/24", dark, "eth0", "10.91.3.2/24")
        ns.run(sender, "ip", "link", "set", "eth3", "down")
        ns.link(sender, "eth4", None, dark, "eth1", None)
        listed = json.loads(ns.run(sender, sys.executable, "-c", _LIST_INTERFACES).stdout)
        assert listed == [
            ["eth1", "10.91.1.1", "10.91.1.255"],
            ["eth2", "10.91.2.1", "10.91.2.127"],
        ]
        port = 47999
        receivers = [
            ns.popen(where, sys.executable, "-c", _RECEIVE_ONE, str(port))
            for where in (left, right, dark)
        ]
        for receiver in receivers:  # each says when it is bound
            assert receiver.stdout is not None and receiver.stdout.readline() == "ready\n"
        beacons = ns.popen(sender, sys.executable, "-c", _SEND_BEACONS, str(port))
        try:
            heard = [r.communicate(timeout=20)[0].strip() for r in receivers[:2]]
            assert heard == ["10.91.1.1", "10.91.2.1"]
            assert receivers[2].poll() is None  # nothing on the link that is down
            # The link comes up while the sender runs: it is found on the next round.
            ns.run(sender, "ip", "link", "set", "eth3", "up")
            assert receivers[2].communicate(timeout=20)[0].strip() == "10.91.3.1"
        finally:
            beacons.kill()
            beacons.wait(10)
            for receiver in receivers:
                receiver.kill()
                receiver.wait(10)
