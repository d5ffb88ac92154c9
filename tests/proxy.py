"""A TCP relay on loopback for security tests: records, corrupts or cuts what passes through."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

import attrs

#: Given the bytes seen so far in one direction and a new chunk, return what to forward
#: (None: cut the connection here).
Tamper = Callable[[int, bytes], bytes | None]


def passthrough(_offset: int, chunk: bytes) -> bytes | None:
    return chunk


def flip_bit_at(position: int) -> Tamper:
    """Flip one bit of the byte at ``position`` of the stream (once)."""

    def tamper(offset: int, chunk: bytes) -> bytes | None:
        if offset <= position < offset + len(chunk):
            data = bytearray(chunk)
            data[position - offset] ^= 0x10
            return bytes(data)
        return chunk

    return tamper


def cut_at(position: int) -> Tamper:
    """Forward exactly the first ``position`` bytes (cutting mid-frame), then close."""

    def tamper(offset: int, chunk: bytes) -> bytes | None:
        if offset + len(chunk) <= position:
            return chunk
        return chunk[: max(0, position - offset)] or None

    return tamper


@attrs.define(eq=False)
class Relay:
    """Accepts on 127.0.0.1 and forwards to ``target``; ``tamper_*`` apply to the first
    connection only (later ones pass through), so a peer can recover by redialling."""

    target: tuple[str, int]
    tamper_up: Tamper = passthrough  # client -> target
    tamper_down: Tamper = passthrough  # target -> client
    recorded: bytearray = attrs.field(factory=bytearray)
    #: What the client of the first connection sent (e.g. to replay its handshake later).
    first_upstream: bytearray = attrs.field(factory=bytearray)
    connections: int = 0
    cut: threading.Event = attrs.field(factory=threading.Event)
    _listener: socket.socket | None = None

    def start(self) -> Relay:
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def address(self) -> str:
        assert self._listener is not None
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            first = self.connections == 0
            self.connections += 1
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            up = self.tamper_up if first else passthrough
            down = self.tamper_down if first else passthrough
            copy = self.first_upstream if first else None
            threading.Thread(
                target=self._pump, args=(client, upstream, up, copy), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, down, None), daemon=True
            ).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        tamper: Tamper,
        copy: bytearray | None,
    ) -> None:
        offset = 0
        try:
            while chunk := source.recv(65536):
                self.recorded += chunk
                if copy is not None:
                    copy += chunk
                out = tamper(offset, chunk)
                cutting = out is None or len(out) < len(chunk)
                offset += len(chunk)
                if out:
                    sink.sendall(out)
                if cutting:
                    self.cut.set()
                    break
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
