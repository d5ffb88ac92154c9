"""The decoder's limits: what outside bytes can make a peer build, and how deep they nest."""

from __future__ import annotations

import tracemalloc

import msgpack
import nacl.signing
import pytest

from peer.errors import ProtocolError, ValidationError
from peer.log import decode_event, pack, unpack
from peer.log._codec import MAX_CONTAINER_LEN, MAX_CONTAINERS, MAX_DEPTH
from peer.net._wire import MAX_FRAME, decode

MiB = 1024 * 1024


def peak_while(call: object) -> int:
    """Peak bytes traced while ``call()`` runs (it is expected to raise)."""
    assert callable(call)
    tracemalloc.start()
    try:
        with pytest.raises((ValidationError, ProtocolError)):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_frame_of_empty_maps_is_refused_without_building_it() -> None:
    # 1 MiB of one-byte empty maps decoded into ~76 MiB before the limits.
    frame = pack({"t": "events", "events": [{}] * (MAX_FRAME - 100)})
    assert len(frame) <= MAX_FRAME
    peak = peak_while(lambda: decode(frame))
    assert peak < 2 * MiB, f"{peak / MiB:.1f} MiB"


def test_many_short_arrays_of_empty_maps_stop_at_the_container_budget() -> None:
    # Each array is within the per-container length, but together they are a million maps.
    frame = msgpack.packb([[{}] * 60_000] * 17)
    assert len(frame) <= MAX_FRAME
    peak = peak_while(lambda: unpack(frame, what="frame"))
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB"
    with pytest.raises(ValidationError, match=f"more than {MAX_CONTAINERS} arrays and maps"):
        unpack(frame, what="frame")


def test_one_oversized_container_is_refused_by_its_header() -> None:
    with pytest.raises(ValidationError, match="max_array_len"):
        unpack(msgpack.packb([0] * (MAX_CONTAINER_LEN + 1)), what="frame")
    with pytest.raises(ValidationError, match="max_map_len"):
        unpack(msgpack.packb({str(i): 0 for i in range(MAX_CONTAINER_LEN + 1)}), what="frame")


def test_a_deeply_nested_event_is_a_clean_validation_error() -> None:
    key = nacl.signing.SigningKey(b"k" * 32)
    author = bytes(key.verify_key)
    nested = b"\x91" * 999 + b"\x90"  # 1,000 arrays, each holding the next
    body = b"\x83" + pack("room") + pack("general") + pack("text") + pack("x")
    body += pack("z") + nested
    signed = b"\x97" + b"".join(pack(f) for f in [1, author, 1, None, 1, "chat"]) + body
    raw = signed + key.sign(signed).signature
    assert len(raw) < 1200
    with pytest.raises(ValidationError, match=f"malformed event: nested more than {MAX_DEPTH}"):
        decode_event(raw)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 5000])
def test_nesting_past_the_limit_is_refused_at_any_depth(depth: int) -> None:
    data = b"\x91" * (depth - 1) + b"\x90"
    with pytest.raises(ValidationError, match="nested"):
        unpack(data, what="frame")


def test_values_within_the_limits_decode_unchanged() -> None:
    value = {"heads": {i.to_bytes(32, "big"): i for i in range(20_000)}, "t": "have"}
    assert unpack(pack(value), what="frame") == value
    nested: list[object] = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert unpack(pack(nested), what="frame") == nested
    events = [b"x" * 100] * 1000
    assert unpack(pack({"events": events}), what="frame") == {"events": events}
