"""Encrypted, mutually authenticated Trio stream between two members of one class.

Every connection runs ``Noise_XXpsk0_25519_ChaChaPoly_BLAKE2s`` (via the ``noiseprotocol``
package) with the class secret as the PSK. psk0 mixes the secret in before the very first
message, so a stranger without it cannot even produce or read message 1 and learns nothing.

Noise's static keys are fresh X25519 keys per connection; what identifies a peer is its long-term
Ed25519 key. Each side therefore sends, inside the encrypted handshake payload (message 2 for the
responder, message 3 for the initiator), its Ed25519 verify key and a signature over
``b"peerclass-noise-static-v1" + its Noise static public key``. The receiver checks the signature
against the static key Noise itself authenticated (the one the DH operations used), so a
signature cannot be replayed by someone who lacks that static private key.

Wire format: every Noise message, handshake or transport, is a 2-byte big-endian length followed
by that many bytes. A Noise message is at most 65,535 bytes including its 16-byte tag.

Errors: handshake problems raise :class:`~peer.errors.HandshakeError`. After the handshake, a frame
that fails authentication (tampering, replay, reordering) or a connection that ends in the middle
of a frame raises :class:`~peer.errors.ProtocolError` (not wrapped in ``BrokenResourceError``)
from ``receive_some``; the stream then stays failed. A clean EOF exactly between frames is an
ordinary EOF (``b""``): like TLS without close_notify, the application protocol must be able to
tell whether the peer meant to stop there.
"""

from __future__ import annotations

import operator
from types import TracebackType
from typing import Protocol, cast

import attrs
import nacl.exceptions
import nacl.signing
import trio
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from noise.connection import Keypair, NoiseConnection

from peer.errors import HandshakeError, ProtocolError

__all__ = [
    "MAX_NOISE_MESSAGE",
    "MAX_PLAINTEXT",
    "NOISE_PROTOCOL_NAME",
    "SecureStream",
    "open_secure_stream",
]

NOISE_PROTOCOL_NAME = b"Noise_XXpsk0_25519_ChaChaPoly_BLAKE2s"
MAX_NOISE_MESSAGE = 65535
_TAG_LEN = 16
MAX_PLAINTEXT = MAX_NOISE_MESSAGE - _TAG_LEN
PSK_LEN = 32

_SIGNATURE_CONTEXT = b"peerclass-noise-static-v1"
_DH_LEN = 32
_IDENTITY_PAYLOAD_LEN = 32 + 64  # Ed25519 verify key || signature
# Our handshake messages have fixed sizes (psk0 keys the cipher from message 1 on, so every
# payload and static key carries a tag); anything else is not a peerclass peer.
_MSG1_LEN = _DH_LEN + _TAG_LEN
_MSG2_LEN = _DH_LEN + (_DH_LEN + _TAG_LEN) + (_IDENTITY_PAYLOAD_LEN + _TAG_LEN)
_MSG3_LEN = (_DH_LEN + _TAG_LEN) + (_IDENTITY_PAYLOAD_LEN + _TAG_LEN)

_WRONG_SECRET = "handshake failed: wrong class secret or corrupted message"
_BAD_SIGNATURE = "handshake failed: peer's identity signature does not match its Noise key"


# --- typed view of the untyped noiseprotocol package ---------------------------------------------


class _KeyPairLike(Protocol):
    public_bytes: bytes


class _HandshakeStateLike(Protocol):
    rs: _KeyPairLike


class _NoiseProtocolLike(Protocol):
    handshake_state: _HandshakeStateLike


class _NoiseConnectionLike(Protocol):
    """The part of ``noise.connection.NoiseConnection`` this module uses."""

    noise_protocol: _NoiseProtocolLike

    def write_message(self, payload: bytes = ...) -> bytearray: ...
    def read_message(self, data: bytes) -> bytearray: ...
    def encrypt(self, data: bytes) -> bytes: ...
    def decrypt(self, data: bytes) -> bytes: ...


class _NoiseSession:
    """Owns one NoiseConnection and turns its assorted exceptions into ours.

    noiseprotocol raises cryptography's InvalidTag, its own Noise* errors, ValueError or even a
    bare Exception depending on where a message goes wrong, so each call catches ``Exception``.
    """

    def __init__(self, *, initiator: bool, psk: bytes, prologue: bytes) -> None:
        static = X25519PrivateKey.generate()
        self.local_static = static.public_key().public_bytes_raw()
        conn = NoiseConnection.from_name(NOISE_PROTOCOL_NAME)
        conn.set_psks(psk=bytes(psk))
        conn.set_prologue(bytes(prologue))
        if initiator:
            conn.set_as_initiator()
        else:
            conn.set_as_responder()
        conn.set_keypair_from_private_bytes(Keypair.STATIC, static.private_bytes_raw())
        conn.start_handshake()
        self._conn = cast(_NoiseConnectionLike, conn)

    def write_handshake(self, payload: bytes) -> bytes:
        # Writing computes DH with what the other side sent: a degenerate (e.g. all-zero)
        # ephemeral key fails here, and that is the other side's fault, not a crash of ours.
        try:
            return bytes(self._conn.write_message(payload))
        except Exception as exc:
            raise HandshakeError(f"handshake failed: unusable key from peer ({exc})") from exc

    def read_handshake(self, message: bytes) -> tuple[bytes, bytes]:
        """Process one handshake message; return (payload, remote static key if known yet).

        The handshake state is fetched first because noiseprotocol deletes it from the
        connection once the final message completes the handshake.
        """
        state = self._conn.noise_protocol.handshake_state
        try:
            payload = bytes(self._conn.read_message(message))
        except Exception as exc:
            raise HandshakeError(_WRONG_SECRET) from exc
        remote = getattr(state.rs, "public_bytes", b"")  # still Empty() after message 1
        return payload, bytes(remote)

    def encrypt(self, plaintext: bytes) -> bytes:
        return bytes(self._conn.encrypt(plaintext))

    def decrypt(self, ciphertext: bytes) -> bytes:
        try:
            return bytes(self._conn.decrypt(ciphertext))
        except Exception as exc:
            raise ProtocolError(
                "secure stream: a frame failed authentication (tampered, replayed or reordered)"
            ) from exc


# --- framing -------------------------------------------------------------------------------------


def _frame(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


async def _receive_frame(transport: trio.abc.ReceiveStream, buffer: bytearray) -> bytes | None:
    """Return the next length-prefixed message, or None on EOF exactly between frames.

    Bytes past the frame stay in ``buffer`` (the peer may send its first transport frame in the
    same segment as its last handshake message). Cancel-safe: data is only appended to ``buffer``
    after a receive completed.
    """
    while True:
        if len(buffer) >= 2:
            end = 2 + int.from_bytes(buffer[:2], "big")
            if len(buffer) >= end:
                message = bytes(buffer[2:end])
                del buffer[:end]
                return message
        chunk = await transport.receive_some()
        if not chunk:
            if buffer:
                raise ProtocolError("secure stream: connection ended in the middle of a frame")
            return None
        buffer += chunk


class _ConflictDetector:
    """Raise BusyResourceError when two tasks use the same direction at once (Trio's contract).

    A local copy of trio._util.ConflictDetector, to avoid depending on Trio's private API.
    """

    def __init__(self, message: str) -> None:
        self._message = message
        self._held = False

    def __enter__(self) -> None:
        if self._held:
            raise trio.BusyResourceError(self._message)
        self._held = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._held = False


# --- the stream ----------------------------------------------------------------------------------


@attrs.define(eq=False)
class SecureStream(trio.abc.Stream):
    """A Noise transport session over ``transport``; build it with :func:`open_secure_stream`."""

    transport: trio.abc.Stream
    remote_identity: bytes
    _session: _NoiseSession = attrs.field(repr=False)
    _wire: bytearray = attrs.field(factory=bytearray, repr=False)
    _plain: bytearray = attrs.field(init=False, factory=bytearray, repr=False)
    _send_guard: _ConflictDetector = attrs.field(
        init=False,
        factory=lambda: _ConflictDetector("another task is already sending on this stream"),
        repr=False,
    )
    _receive_guard: _ConflictDetector = attrs.field(
        init=False,
        factory=lambda: _ConflictDetector("another task is already receiving on this stream"),
        repr=False,
    )
    _closed: bool = attrs.field(init=False, default=False)
    # Set when a send was interrupted after a nonce was used (the peer would fail on our next
    # frame) or when receiving failed (someone is tampering): the stream cannot be trusted.
    _send_broken: bool = attrs.field(init=False, default=False)
    _receive_failure: ProtocolError | None = attrs.field(init=False, default=None, repr=False)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt ``data`` into as many frames as needed and send them in order."""
        with self._send_guard:
            await self._check_can_send()
            view = memoryview(data).cast("B")
            if not view:
                await trio.lowlevel.checkpoint()
                return
            try:
                for start in range(0, len(view), MAX_PLAINTEXT):
                    chunk = bytes(view[start : start + MAX_PLAINTEXT])
                    await self.transport.send_all(_frame(self._session.encrypt(chunk)))
            except BaseException:
                # A nonce may be used without its frame arriving: later frames would fail.
                self._send_broken = True
                raise

    async def wait_send_all_might_not_block(self) -> None:
        """Delegate to the transport: we keep no send buffer of our own."""
        with self._send_guard:
            await self._check_can_send()
            await self.transport.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Return decrypted bytes (already-buffered ones first); ``b""`` on a clean EOF.

        Raises ProtocolError if a frame fails authentication or the connection is cut
        mid-frame; the stream then stays failed.
        """
        if max_bytes is not None:
            max_bytes = operator.index(max_bytes)
            if max_bytes < 1:
                raise ValueError("max_bytes must be at least 1")
        with self._receive_guard:
            # Always a checkpoint, even when the answer is already buffered (Trio's contract);
            # nothing has been consumed yet, so a cancellation here loses nothing.
            await trio.lowlevel.checkpoint()
            if self._closed:
                raise trio.ClosedResourceError("secure stream was closed")
            if self._receive_failure is not None:
                raise ProtocolError(
                    f"secure stream already failed: {self._receive_failure}"
                ) from self._receive_failure
            try:
                while not self._plain:
                    message = await _receive_frame(self.transport, self._wire)
                    if message is None:
                        return b""
                    # Empty plaintext frames are legal; they must not look like EOF.
                    self._plain += self._session.decrypt(message)
            except ProtocolError as exc:
                self._receive_failure = exc
                self._send_broken = True
                raise
            if max_bytes is None or max_bytes >= len(self._plain):
                result = bytes(self._plain)
                self._plain.clear()
            else:
                result = bytes(self._plain[:max_bytes])
                del self._plain[:max_bytes]
            return result

    async def aclose(self) -> None:
        """Close the transport (idempotent; also wakes tasks blocked on it)."""
        self._closed = True
        await self.transport.aclose()

    async def _check_can_send(self) -> None:
        if self._closed:
            await trio.lowlevel.checkpoint()
            raise trio.ClosedResourceError("secure stream was closed")
        if self._send_broken:
            await trio.lowlevel.checkpoint()
            raise trio.BrokenResourceError("secure stream is broken by an earlier failure")


# --- handshake -----------------------------------------------------------------------------------


def _identity_payload(identity: nacl.signing.SigningKey, local_static: bytes) -> bytes:
    signature = identity.sign(_SIGNATURE_CONTEXT + local_static).signature
    return bytes(identity.verify_key) + signature


def _verify_identity(payload: bytes, remote_static: bytes) -> bytes:
    """Check the peer's identity proof against the static key Noise authenticated."""
    if len(payload) != _IDENTITY_PAYLOAD_LEN or len(remote_static) != _DH_LEN:
        raise HandshakeError("handshake failed: peer's identity proof is malformed")
    verify_key, signature = payload[:32], payload[32:]
    try:
        nacl.signing.VerifyKey(verify_key).verify(_SIGNATURE_CONTEXT + remote_static, signature)
    except nacl.exceptions.CryptoError as exc:
        raise HandshakeError(_BAD_SIGNATURE) from exc
    return verify_key


async def _send_handshake(transport: trio.abc.Stream, message: bytes) -> None:
    try:
        await transport.send_all(_frame(message))
    except trio.BrokenResourceError as exc:
        raise HandshakeError(f"handshake failed: connection broke while sending: {exc}") from exc


async def _receive_handshake(
    transport: trio.abc.Stream, buffer: bytearray, number: int, expected_len: int
) -> bytes:
    try:
        message = await _receive_frame(transport, buffer)
    except trio.BrokenResourceError as exc:
        raise HandshakeError(f"handshake failed: connection broke while receiving: {exc}") from exc
    except ProtocolError as exc:
        raise HandshakeError(
            f"handshake failed: connection ended in the middle of message {number}"
        ) from exc
    if message is None:
        raise HandshakeError(
            f"handshake failed: connection closed by the peer before message {number} "
            "(it may have refused our class secret or identity)"
        )
    if len(message) != expected_len:
        raise HandshakeError(
            f"handshake failed: message {number} is {len(message)} bytes, expected "
            f"{expected_len} (not a peerclass peer, or a different protocol version)"
        )
    return message


async def _run_handshake(
    transport: trio.abc.Stream,
    *,
    initiator: bool,
    psk: bytes,
    identity: nacl.signing.SigningKey,
    prologue: bytes,
) -> SecureStream:
    session = _NoiseSession(initiator=initiator, psk=psk, prologue=prologue)
    my_proof = _identity_payload(identity, session.local_static)
    buffer = bytearray()
    if initiator:
        await _send_handshake(transport, session.write_handshake(b""))  # -> e
        message = await _receive_handshake(transport, buffer, 2, _MSG2_LEN)  # <- e, ee, s, es
        payload, remote_static = session.read_handshake(message)
        remote_identity = _verify_identity(payload, remote_static)
        await _send_handshake(transport, session.write_handshake(my_proof))  # -> s, se
    else:
        message = await _receive_handshake(transport, buffer, 1, _MSG1_LEN)
        session.read_handshake(message)
        await _send_handshake(transport, session.write_handshake(my_proof))
        message = await _receive_handshake(transport, buffer, 3, _MSG3_LEN)
        payload, remote_static = session.read_handshake(message)
        remote_identity = _verify_identity(payload, remote_static)
    return SecureStream(
        transport=transport, remote_identity=remote_identity, session=session, wire=buffer
    )


async def open_secure_stream(
    transport: trio.abc.Stream,
    *,
    initiator: bool,
    psk: bytes,
    identity: nacl.signing.SigningKey,
    prologue: bytes,
) -> SecureStream:
    """Run the handshake over ``transport`` and return the encrypted stream.

    Both sides must pass the same ``psk`` (the 32-byte class secret) and ``prologue``, and
    opposite ``initiator`` values. Raises HandshakeError on any failure (wrong secret or
    prologue, bad identity signature, EOF or broken transport, malformed message); a wrong
    ``psk`` length is a caller bug and raises ValueError. On any failure or cancellation the
    transport is closed, since it is mid-handshake and useless. No deadline is applied here:
    the caller wraps this in ``trio.fail_after``.
    """
    if len(psk) != PSK_LEN:
        raise ValueError(f"psk must be {PSK_LEN} bytes, got {len(psk)}")
    try:
        return await _run_handshake(
            transport, initiator=initiator, psk=psk, identity=identity, prologue=prologue
        )
    except BaseException:
        await trio.aclose_forcefully(transport)
        raise
