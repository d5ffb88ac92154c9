"""The wire protocol: each message round trips; bad frames are refused saying why; frames
survive any split of the byte stream."""

from __future__ import annotations

import struct
from typing import Any

import attrs
import msgpack
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from peer.errors import ProtocolError
from peer.net._framed import FramedStream
from peer.net._wire import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    VECTOR_CHUNK,
    Bye,
    Events,
    Have,
    Hello,
    IHave,
    Message,
    Ping,
    Prune,
    Want,
    decode,
    encode,
)

PEER = bytes(range(32))
HEAD = bytes(range(100, 132))
CLASS = bytes(range(16))

MESSAGES: list[Message] = [
    Hello(PROTOCOL_VERSION, CLASS, PEER, 4242),
    Hello(PROTOCOL_VERSION, CLASS, PEER, 0),
    Have({PEER: (7, HEAD), bytes(32): (1, bytes(32))}),
    Have({}, more=True),
    Want({PEER: 0, bytes(32): 12}),
    Want({PEER: 3}, graft=True),
    IHave({PEER: (9, HEAD)}),
    Prune([PEER, HEAD]),
    Prune([]),
    Events([b"one", b"two" * 100, b""]),
    Events([b"live"], pushed=True),
    Events([]),
    Ping(),
    Bye("duplicate connection"),
]


def wire_head(seq: int) -> bytes:
    """A head as the wire carries it: seq as 8 big-endian bytes, then the head id."""
    return seq.to_bytes(8, "big") + HEAD


def payload(frame: bytes) -> bytes:
    (length,) = struct.unpack(">I", frame[:4])
    assert length == len(frame) - 4
    return frame[4:]


def raw_frame(body: Any) -> bytes:
    data: bytes = msgpack.packb(body, use_bin_type=True)
    return struct.pack(">I", len(data)) + data


def refusal(body: Any) -> str:
    data = body if isinstance(body, bytes) else msgpack.packb(body, use_bin_type=True)
    with pytest.raises(ProtocolError) as info:
        decode(data)
    return str(info.value)


# ---- encode / decode --------------------------------------------------------------------


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_each_message_round_trips(message: Message) -> None:
    frame = encode(message)
    assert decode(payload(frame)) == message


def test_bye_reason_is_cut_to_200_characters() -> None:
    assert decode(payload(encode(Bye("x" * 500)))) == Bye("x" * 200)


@settings(max_examples=50, deadline=None)
@given(
    heads=st.dictionaries(
        st.binary(min_size=32, max_size=32),
        st.tuples(st.integers(1, 2**53), st.binary(min_size=32, max_size=32)),
        max_size=20,
    ),
    more=st.booleans(),
    events=st.lists(st.binary(max_size=300), max_size=20),
)
def test_vectors_and_events_round_trip_property(
    heads: dict[bytes, tuple[int, bytes]], more: bool, events: list[bytes]
) -> None:
    assert decode(payload(encode(Have(heads, more)))) == Have(heads, more)
    assert decode(payload(encode(IHave(heads)))) == IHave(heads)
    after = {a: seq for a, (seq, _) in heads.items()}
    assert decode(payload(encode(Want(after, more)))) == Want(after, more)
    assert decode(payload(encode(Events(events, more)))) == Events(events, more)


def test_encode_refuses_a_message_over_the_frame_limit() -> None:
    with pytest.raises(ProtocolError, match=f"exceeds the {MAX_FRAME} limit"):
        encode(Events([b"x" * MAX_FRAME]))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"t": "gossip"}, "unknown message type 'gossip'"),
        ({"t": "x" * 100}, "unknown message type '" + "x" * 32 + "'"),
        ([1, 2], "not a tagged map"),
        ({"type": "ping"}, "not a tagged map"),
        ({"t": 5}, "not a tagged map"),
        ({"t": "hello", "v": "1", "class": CLASS, "peer": PEER, "port": 1}, "hello version"),
        ({"t": "hello", "v": 1, "class": CLASS[:8], "peer": PEER, "port": 1}, "hello class id"),
        ({"t": "hello", "v": 1, "class": CLASS, "peer": PEER + b"!", "port": 1}, "hello peer id"),
        ({"t": "hello", "v": 1, "class": CLASS, "peer": PEER, "port": 70000}, "hello port"),
        ({"t": "hello", "v": 1, "class": CLASS, "peer": PEER}, "hello port"),
        ({"t": "have", "heads": []}, "have heads"),
        ({"t": "have", "heads": {}, "more": 1}, "have more flag"),
        ({"t": "have", "heads": {"ab": wire_head(1)}}, "have author"),
        ({"t": "have", "heads": {PEER[:5]: wire_head(1)}}, "have author"),
        ({"t": "have", "heads": {PEER: 1}}, "have head"),
        ({"t": "have", "heads": {PEER: [1, HEAD]}}, "have head"),
        ({"t": "have", "heads": {PEER: wire_head(1)[:-1]}}, "have head"),
        ({"t": "have", "heads": {PEER: wire_head(1) + b"!"}}, "have head"),
        ({"t": "have", "heads": {PEER: wire_head(0)}}, "have seq"),
        ({"t": "ihave", "heads": {PEER: "id"}}, "ihave head"),
        ({"t": "ihave"}, "ihave heads"),
        ({"t": "want", "after": []}, "want ranges"),
        ({"t": "want", "after": {PEER: -1}}, "want seq"),
        ({"t": "want", "after": {b"x": 1}}, "want author"),
        ({"t": "want", "after": {}, "graft": "yes"}, "want graft flag"),
        ({"t": "events", "events": [], "pushed": 1}, "events pushed flag"),
        ({"t": "prune"}, "prune authors"),
        ({"t": "prune", "authors": [PEER[:4]]}, "prune author"),
        ({"t": "events", "events": b"abc"}, "events list"),
        ({"t": "events"}, "events list"),
        ({"t": "events", "events": [b"ok", "text"]}, "events must be byte strings"),
        ({"t": "bye", "reason": None}, "bye reason"),
    ],
)
def test_malformed_messages_say_what_is_wrong(body: Any, expected: str) -> None:
    message = refusal(body)
    assert message.startswith("malformed message:") or "unknown message type" in message
    assert expected in message


def test_vectors_and_requests_with_too_many_authors_are_refused() -> None:
    heads = {i.to_bytes(32, "big"): wire_head(1) for i in range(VECTOR_CHUNK + 1)}
    assert "have heads" in refusal({"t": "have", "heads": heads})
    assert "ihave heads" in refusal({"t": "ihave", "heads": heads})
    after = {i.to_bytes(32, "big"): 1 for i in range(VECTOR_CHUNK + 1)}
    assert "want ranges" in refusal({"t": "want", "after": after})


def test_a_full_vector_chunk_fits_in_a_frame() -> None:
    heads = {i.to_bytes(32, "big"): (2**40, HEAD) for i in range(VECTOR_CHUNK)}
    assert len(encode(Have(heads))) <= MAX_FRAME


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xc1", "malformed frame"),
        (b"", "malformed frame"),
        (msgpack.packb({"t": "ping"}) + b"\x00", "malformed frame"),
        (msgpack.packb({"t": "ping"})[:-2], "malformed frame"),
        (msgpack.packb({1: "ping"}), "malformed frame"),
    ],
)
def test_undecodable_payloads(data: bytes, expected: str) -> None:
    assert expected in refusal(data)


# ---- FramedStream -----------------------------------------------------------------------


@attrs.define(eq=False)
class Trickle(trio.abc.Stream):
    """Wraps a stream so that every receive_some returns at most ``size`` bytes."""

    inner: trio.abc.Stream
    size: int = 1
    calls: int = 0

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        self.calls += 1
        return bytes(await self.inner.receive_some(self.size))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_messages_round_trip_over_a_stream() -> None:
    left, right = trio.testing.memory_stream_pair()
    sender, receiver = FramedStream(left), FramedStream(right)
    with trio.fail_after(5):
        for message in MESSAGES:
            await sender.send(message)
        received = [await receiver.receive() for _ in MESSAGES]
        await sender.aclose()
        assert await receiver.receive() is None
    assert received == MESSAGES


@pytest.mark.parametrize("size", [1, 3, 4, 5, 1000])
async def test_frames_split_into_tiny_chunks_are_reassembled(size: int) -> None:
    left, right = trio.testing.memory_stream_pair()
    receiver = FramedStream(Trickle(right, size))
    messages = [*MESSAGES, Events([bytes([i]) * 700 for i in range(20)])]
    with trio.fail_after(10):
        await left.send_all(b"".join(encode(m) for m in messages))
        await left.aclose()
        received = [await receiver.receive() for _ in messages]
        assert await receiver.receive() is None
    assert received == messages
    total = sum(len(encode(m)) for m in messages)
    assert receiver.stream.calls >= total // size  # type: ignore[attr-defined]


async def test_many_frames_in_one_chunk_are_split() -> None:
    left, right = trio.testing.memory_stream_pair()
    receiver = FramedStream(right)
    with trio.fail_after(5):
        await left.send_all(encode(Ping()) * 50 + encode(Bye("done")))
        for _ in range(50):
            assert await receiver.receive() == Ping()
        assert await receiver.receive() == Bye("done")


async def test_oversized_frame_is_refused_naming_the_limit() -> None:
    left, right = trio.testing.memory_stream_pair()
    receiver = FramedStream(right)
    with trio.fail_after(5):
        # Only the header is sent: the limit is checked before the body is waited for.
        await left.send_all(struct.pack(">I", MAX_FRAME + 1))
        with pytest.raises(ProtocolError, match=f"frame of {MAX_FRAME + 1} bytes exceeds the"):
            await receiver.receive()


async def test_a_smaller_configured_limit_is_enforced() -> None:
    left, right = trio.testing.memory_stream_pair()
    receiver = FramedStream(right, max_frame=64)
    with trio.fail_after(5):
        await left.send_all(encode(Events([b"x" * 100])))
        with pytest.raises(ProtocolError, match="exceeds the 64 limit"):
            await receiver.receive()


async def test_a_frame_of_exactly_the_limit_is_accepted() -> None:
    left, right = trio.testing.memory_stream_pair()
    receiver = FramedStream(right, max_frame=64)
    frame = encode(Events([b"x" * 20]))
    body = frame[4:]
    padded = Events([b"x" * (20 + 64 - len(body))])
    assert len(encode(padded)) == 4 + 64
    with trio.fail_after(5):
        await left.send_all(encode(padded))
        assert await receiver.receive() == padded


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00\x00", "stream ended inside a frame header"),
        (encode(Bye("bye"))[:-2], "stream ended inside a frame"),
        (struct.pack(">I", 10), "stream ended inside a frame"),
    ],
)
async def test_truncated_frames(data: bytes, expected: str) -> None:
    left, right = trio.testing.memory_stream_pair()
    receiver = FramedStream(right)
    with trio.fail_after(5):
        await left.send_all(data)
        await left.aclose()
        with pytest.raises(ProtocolError, match=expected):
            await receiver.receive()


async def test_unknown_type_and_malformed_frames_over_a_stream() -> None:
    for body, expected in [
        ({"t": "shout"}, "unknown message type 'shout'"),
        ({"t": "have", "heads": {b"x": 1}, "complete": True}, "malformed message: have author"),
    ]:
        left, right = trio.testing.memory_stream_pair()
        receiver = FramedStream(Trickle(right, 2))
        with trio.fail_after(5):
            await left.send_all(raw_frame(body))
            with pytest.raises(ProtocolError, match=expected):
                await receiver.receive()


async def test_zero_length_frame_is_malformed() -> None:
    left, right = trio.testing.memory_stream_pair()
    receiver = FramedStream(right)
    with trio.fail_after(5):
        await left.send_all(b"\x00\x00\x00\x00")
        with pytest.raises(ProtocolError, match="malformed frame"):
            await receiver.receive()
