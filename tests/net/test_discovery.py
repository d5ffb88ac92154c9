"""Discovery: beacon encoding and its refusals, the bounded peer table, the per-source rate
limiter, and real UDP beacons broadcast on loopback (127.255.255.255 only)."""

from __future__ import annotations

import hmac
import logging
import socket
import time

import pytest
import trio
import trio.testing

from peer.errors import ValidationError
from peer.log._codec import pack
from peer.net import _discovery as discovery
from peer.net._discovery import (
    HINT_SIZE,
    MAC_SIZE,
    MAGIC,
    MAX_BEACON,
    Beacon,
    PeerTable,
    _RateLimiter,
    beacon_key,
    class_hint,
    decode_beacon,
    encode_beacon,
)
from peer.testing import LOOPBACK_BROADCAST, free_udp_port

KEY = beacon_key(b"s" * 32)
OTHER_KEY = beacon_key(b"t" * 32)
PEER = bytes(range(32))
PEER2 = bytes(range(1, 33))


def signed_beacon(key: bytes, fields: object, *, hint_key: bytes | None = None) -> bytes:
    """A beacon with arbitrary fields and a valid tag under ``key``."""
    body = MAGIC + class_hint(hint_key or key) + pack(fields)
    return body + hmac.digest(key, body, "blake2b")[:MAC_SIZE]


# ---- encoding ---------------------------------------------------------------------------


def test_beacon_round_trip() -> None:
    data = encode_beacon(KEY, Beacon(PEER, 4242))
    assert len(data) <= MAX_BEACON
    assert data.startswith(MAGIC)
    assert decode_beacon(KEY, data) == Beacon(PEER, 4242)


def test_beacon_key_depends_on_the_secret_and_hides_it() -> None:
    assert beacon_key(b"s" * 32) == KEY
    assert KEY != OTHER_KEY
    assert b"s" * 32 not in encode_beacon(KEY, Beacon(PEER, 1))


def test_another_class_beacon_is_not_ours() -> None:
    assert decode_beacon(KEY, encode_beacon(OTHER_KEY, Beacon(PEER, 4242))) is None


def test_forged_tag_is_refused() -> None:
    data = encode_beacon(KEY, Beacon(PEER, 4242))
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(ValidationError, match="tag does not verify"):
        decode_beacon(KEY, flipped)


def test_changed_port_with_the_old_tag_is_refused() -> None:
    data = encode_beacon(KEY, Beacon(PEER, 4242))
    tag = data[-MAC_SIZE:]
    forged = MAGIC + class_hint(KEY) + pack([PEER, 22, 0]) + tag
    with pytest.raises(ValidationError, match="tag does not verify"):
        decode_beacon(KEY, forged)


def test_our_hint_with_a_tag_made_by_another_key_is_refused() -> None:
    forged = signed_beacon(OTHER_KEY, [PEER, 4242, 0], hint_key=KEY)
    with pytest.raises(ValidationError, match="forged, or made with another secret"):
        decode_beacon(KEY, forged)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"x" * (MAX_BEACON + 1), f"exceeds {MAX_BEACON}"),
        (MAGIC + b"\x00" * (MAX_BEACON - len(MAGIC) + 1), f"exceeds {MAX_BEACON}"),
        (b"", "not a peerclass beacon"),
        (b"GET / HTTP/1.1\r\n", "not a peerclass beacon"),
        (b"PCB2" + class_hint(KEY) + b"\x00" * 40, "not a peerclass beacon"),
        (MAGIC + class_hint(KEY), "truncated"),
        (MAGIC + class_hint(KEY) + b"\x00" * MAC_SIZE, "truncated"),
    ],
)
def test_oversized_and_garbage_datagrams(data: bytes, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        decode_beacon(KEY, data)


def test_short_garbage_with_magic_is_not_ours() -> None:
    # The hint differs (too short to match): another class, silently ignored.
    assert decode_beacon(KEY, MAGIC + b"\x01") is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"peer": PEER}, "fields are malformed"),
        ([PEER, 4242], "fields are malformed"),
        ([PEER[:31], 4242, 0], "peer id is not a 32-byte key"),
        (["peer", 4242, 0], "peer id is not a 32-byte key"),
        ([PEER, 0, 0], "port 0 is out of range"),
        ([PEER, 65536, 0], "port 65536 is out of range"),
        ([PEER, "80", 0], "port '80' is out of range"),
    ],
)
def test_authentic_but_malformed_fields(fields: object, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        decode_beacon(KEY, signed_beacon(KEY, fields))


def test_authentic_but_undecodable_body() -> None:
    body = MAGIC + class_hint(KEY) + b"\xc1\xc1"
    data = body + hmac.digest(KEY, body, "blake2b")[:MAC_SIZE]
    with pytest.raises(ValidationError, match="malformed beacon"):
        decode_beacon(KEY, data)
    assert len(class_hint(KEY)) == HINT_SIZE


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


async def test_beacons_over_udp_broadcast_on_loopback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="peerclass.discovery")
    port = free_udp_port()
    own = bytes([9]) * 32
    heard: list[tuple[Beacon, str]] = []
    got = trio.Event()

    def on_beacon(beacon: Beacon, host: str) -> None:
        heard.append((beacon, host))
        got.set()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(discovery.receive_beacons, KEY, own, port, on_beacon)
            # What must cause no call, sent first (loopback keeps a socket's datagrams in order).
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                for datagram in (
                    encode_beacon(OTHER_KEY, Beacon(PEER2, 1111)),  # another class
                    signed_beacon(OTHER_KEY, [PEER2, 2222, 0], hint_key=KEY),  # forged tag
                    encode_beacon(KEY, Beacon(own, 3333)),  # ourselves
                    b"garbage",
                ):
                    raw.sendto(datagram, (LOOPBACK_BROADCAST, port))
            nursery.start_soon(
                discovery.send_beacons,
                OTHER_KEY,
                Beacon(PEER2, 5555),
                LOOPBACK_BROADCAST,
                port,
            )
            nursery.start_soon(
                discovery.send_beacons, KEY, Beacon(PEER, 4242), LOOPBACK_BROADCAST, port
            )
            await got.wait()
            nursery.cancel_scope.cancel()
    assert heard[0][0] == Beacon(PEER, 4242)
    assert {b for b, _ in heard} == {Beacon(PEER, 4242)}
    assert all(host.startswith("127.") for _, host in heard)
    messages = [r.getMessage() for r in caplog.records]
    assert any("tag does not verify" in m for m in messages)
    assert any("not a peerclass beacon" in m for m in messages)


async def test_receiver_rate_limits_a_flooding_source() -> None:
    port = free_udp_port()
    heard: list[Beacon] = []
    valid = encode_beacon(KEY, Beacon(PEER, 4242))
    marker = encode_beacon(KEY, Beacon(PEER2, 1))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            got_marker = trio.Event()

            def on_beacon(beacon: Beacon, host: str) -> None:
                heard.append(beacon)
                if beacon.peer_id == PEER2:
                    got_marker.set()

            await nursery.start(discovery.receive_beacons, KEY, bytes(32), port, on_beacon)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
                for _ in range(50):
                    flood.sendto(valid, ("127.0.0.1", port))
            # A second source address on loopback has its own bucket.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                other.bind(("127.0.0.2", 0))
                other.sendto(marker, ("127.0.0.1", port))
            await got_marker.wait()
            nursery.cancel_scope.cancel()
    flooded = [b for b in heard if b.peer_id == PEER]
    assert 1 <= len(flooded) <= 20  # the burst, not all 50 (allow for a slow receiver)


def test_a_replayed_old_beacon_is_refused() -> None:
    key = discovery.beacon_key(b"s" * 32)
    beacon = discovery.Beacon(b"\x07" * 32, 4000)
    stale = discovery.encode_beacon(key, beacon, sent_at=int(time.time()) - 600)
    with pytest.raises(ValidationError, match="replayed"):
        discovery.decode_beacon(key, stale)
    fresh = discovery.encode_beacon(key, beacon, sent_at=int(time.time()) - 30)
    assert discovery.decode_beacon(key, fresh) == beacon
