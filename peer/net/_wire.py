"""The wire protocol: length-prefixed msgpack frames carrying a small tagged union of messages.

A frame is a 4-byte big-endian length then one msgpack map whose ``t`` names the message.
Parsing is strict: a frame over the limit, a malformed map or an unknown message is a
ProtocolError, and the connection that sent it is closed.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs
import trio

from peer.errors import ProtocolError, ValidationError
from peer.log import pack, unpack

PROTOCOL_VERSION = 1
MAX_FRAME = 1024 * 1024
#: Events per ``events`` message: large enough to amortise the signature check, small enough
#: to keep a frame under MAX_FRAME for ordinary events.
BATCH_EVENTS = 1000
BATCH_BYTES = 768 * 1024
#: Authors per ``have`` frame: 20,000 entries of ~40 bytes stay well under MAX_FRAME.
VECTOR_CHUNK = 20_000
_LEN = struct.Struct(">I")


@attrs.frozen
class Hello:
    """First message on a connection, both ways: who we are and where we listen."""

    version: int
    class_id: bytes
    peer_id: bytes
    port: int


@attrs.frozen
class Have:
    """Our version vector; the receiver streams every event we lack.

    With ``complete`` the vector lists every author we hold, so authors absent from it are
    wanted from seq 1; without it (a gap repair) only the listed authors are asked about.
    """

    heads: dict[bytes, int]
    complete: bool
    #: More frames of this same vector follow (a large vector is sent in chunks).
    more: bool = False


@attrs.frozen
class Events:
    """A batch of raw signed events, each author's in seq order."""

    events: list[bytes]


@attrs.frozen
class Ping:
    pass


@attrs.frozen
class Bye:
    """A polite close with the reason (e.g. duplicate connection)."""

    reason: str


Message = Hello | Have | Events | Ping | Bye


def encode(message: Message) -> bytes:
    """A message as a frame (length prefix included)."""
    body: dict[str, Any]
    match message:
        case Hello():
            body = {
                "t": "hello",
                "v": message.version,
                "class": message.class_id,
                "peer": message.peer_id,
                "port": message.port,
            }
        case Have():
            body = {
                "t": "have",
                "heads": message.heads,
                "complete": message.complete,
                "more": message.more,
            }
        case Events():
            body = {"t": "events", "events": message.events}
        case Ping():
            body = {"t": "ping"}
        case Bye():
            body = {"t": "bye", "reason": message.reason}
    data = pack(body)
    if len(data) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds the {MAX_FRAME} limit")
    return _LEN.pack(len(data)) + data


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise ProtocolError(f"malformed message: {what}")


def decode(data: bytes) -> Message:
    """Parse one frame's payload, saying what is wrong with a bad one."""
    try:
        body = unpack(data, what="frame")
    except ValidationError as exc:
        raise ProtocolError(str(exc)) from None
    _require(isinstance(body, dict) and isinstance(body.get("t"), str), "not a tagged map")
    tag = body["t"]
    if tag == "hello":
        v, cid, pid, port = body.get("v"), body.get("class"), body.get("peer"), body.get("port")
        _require(type(v) is int, "hello version")
        _require(isinstance(cid, bytes) and len(cid) == 16, "hello class id")
        _require(isinstance(pid, bytes) and len(pid) == 32, "hello peer id")
        _require(type(port) is int and 0 <= port <= 65535, "hello port")
        return Hello(v, cid, pid, port)
    if tag == "have":
        heads, complete, more = body.get("heads"), body.get("complete"), body.get("more", False)
        _require(isinstance(heads, dict) and len(heads) <= VECTOR_CHUNK, "have heads")
        _require(isinstance(complete, bool), "have complete flag")
        _require(isinstance(more, bool), "have more flag")
        for author, seq in heads.items():
            _require(isinstance(author, bytes) and len(author) == 32, "have author")
            _require(type(seq) is int and seq >= 0, "have seq")
        return Have(heads, complete, more)
    if tag == "events":
        evs = body.get("events")
        _require(isinstance(evs, list), "events list")
        _require(all(isinstance(e, bytes) for e in evs), "events must be byte strings")
        return Events(evs)
    if tag == "ping":
        return Ping()
    if tag == "bye":
        reason = body.get("reason")
        _require(isinstance(reason, str), "bye reason")
        return Bye(reason[:200])
    raise ProtocolError(f"unknown message type {tag[:32]!r}")


@attrs.define(eq=False)
class FramedStream:
    """Send and receive whole messages over a byte stream."""

    stream: trio.abc.Stream
    max_frame: int = MAX_FRAME
    _buffer: bytearray = attrs.field(factory=bytearray)

    async def send(self, message: Message) -> None:
        await self.stream.send_all(encode(message))

    async def receive(self) -> Message | None:
        """The next message, or None at a clean end of stream."""
        while len(self._buffer) < 4:
            if not await self._fill():
                if self._buffer:
                    raise ProtocolError("stream ended inside a frame header")
                return None
        (length,) = _LEN.unpack_from(self._buffer)
        if length > self.max_frame:
            raise ProtocolError(f"frame of {length} bytes exceeds the {self.max_frame} limit")
        while len(self._buffer) < 4 + length:
            if not await self._fill():
                raise ProtocolError("stream ended inside a frame")
        payload = bytes(self._buffer[4 : 4 + length])
        del self._buffer[: 4 + length]
        return decode(payload)

    async def _fill(self) -> bool:
        chunk = await self.stream.receive_some(256 * 1024)
        if not chunk:
            return False
        self._buffer += chunk
        return True

    async def aclose(self) -> None:
        await self.stream.aclose()
