"""Whole wire messages over a Trio byte stream: the thin I/O half of :mod:`_wire`.

The codec stays sans-IO; this reads length-prefixed frames into a buffer and hands each
payload to ``decode``, refusing a frame over the limit before reading it.
"""

from __future__ import annotations

import attrs
import trio

from peer.errors import ProtocolError
from peer.net._wire import LENGTH, MAX_FRAME, Message, decode, encode

#: With a stall timeout, a frame is written in slices this big: each must be taken by the
#: other side within the timeout.
SEND_SLICE = 64 * 1024


@attrs.define(eq=False)
class FramedStream:
    """Whole messages over a byte stream (the secure stream, or a memory stream in tests), so
    the session and the handshake deal in messages and never see a partial frame.

    One reader and one writer at a time, as the underlying stream allows. A peer that breaks
    the framing (a frame over ``max_frame``, an end of stream inside a frame, an undecodable
    payload) raises ProtocolError: the caller closes that connection only.
    """

    stream: trio.abc.Stream
    max_frame: int = MAX_FRAME
    _buffer: bytearray = attrs.field(factory=bytearray)

    async def send(self, message: Message, *, stall_timeout: float | None = None) -> None:
        """Encode and send one message; blocks while the other side is not reading (TCP's
        backpressure). With ``stall_timeout`` the frame goes in slices of ``SEND_SLICE``
        bytes and trio.TooSlowError is raised only when one slice waits that long: a reader
        that keeps taking data (a late joiner storing a big catch-up) is slow, not gone, and
        is judged by its progress rather than by how long a whole frame takes (issue 21)."""
        data = encode(message)
        if stall_timeout is None:
            await self.stream.send_all(data)
            return
        view = memoryview(data)
        for start in range(0, len(data), SEND_SLICE):
            with trio.fail_after(stall_timeout):
                await self.stream.send_all(view[start : start + SEND_SLICE])

    async def receive(self) -> Message | None:
        """The next message, or None at a clean end of stream (the other side closed between
        frames: a normal goodbye, not an error). The length is checked before the frame is
        read, so a hostile prefix cannot make us buffer more than ``max_frame``."""
        while len(self._buffer) < 4:
            if not await self._fill():
                if self._buffer:
                    raise ProtocolError("stream ended inside a frame header")
                return None
        (length,) = LENGTH.unpack_from(self._buffer)
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
        """Close the underlying stream (idempotent, as trio streams are)."""
        await self.stream.aclose()
