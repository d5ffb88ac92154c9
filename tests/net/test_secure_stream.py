"""Tests for peer.secure_stream: Trio's stream contract, the handshake's refusals, and an active
man-in-the-middle (bit flips, truncation, replay, reordering) on in-memory streams, plus one real
loopback TCP connection through a recording proxy."""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs
import nacl.signing
import pytest
import trio
import trio.testing

import peer.net._secure_stream as secure_stream
from peer.errors import HandshakeError, ProtocolError
from peer.net._secure_stream import (
    MAX_NOISE_MESSAGE,
    MAX_PLAINTEXT,
    SecureStream,
    open_secure_stream,
)

PSK = bytes(range(32))
OTHER_PSK = bytes(range(1, 33))
PROLOGUE = b"peerclass/1" + b"class-0001"
WRONG_SECRET = "handshake failed: wrong class secret or corrupted message"
BAD_SIGNATURE = "handshake failed: peer's identity signature does not match its Noise key"


@attrs.define
class Side:
    """One end of a handshake: who it is and what it believes the class secret is."""

    identity: nacl.signing.SigningKey = attrs.field(factory=nacl.signing.SigningKey.generate)
    psk: bytes = PSK
    prologue: bytes = PROLOGUE


Outcome = SecureStream | HandshakeError


async def handshake_both(
    initiator_transport: trio.abc.Stream,
    responder_transport: trio.abc.Stream,
    initiator: Side | None = None,
    responder: Side | None = None,
) -> tuple[Outcome, Outcome]:
    """Run both handshakes concurrently; a HandshakeError is returned, not raised."""
    sides = (initiator or Side(), responder or Side())
    outcomes: list[Outcome | None] = [None, None]

    async def run(index: int, transport: trio.abc.Stream) -> None:
        side = sides[index]
        try:
            outcomes[index] = await open_secure_stream(
                transport,
                initiator=index == 0,
                psk=side.psk,
                identity=side.identity,
                prologue=side.prologue,
            )
        except HandshakeError as exc:
            outcomes[index] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, 0, initiator_transport)
        nursery.start_soon(run, 1, responder_transport)
    first, second = outcomes
    assert first is not None
    assert second is not None
    return first, second


async def connected(
    initiator_transport: trio.abc.Stream,
    responder_transport: trio.abc.Stream,
    initiator: Side | None = None,
    responder: Side | None = None,
) -> tuple[SecureStream, SecureStream]:
    a, b = await handshake_both(initiator_transport, responder_transport, initiator, responder)
    assert isinstance(a, SecureStream), a
    assert isinstance(b, SecureStream), b
    return a, b


async def receive_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        chunk = await stream.receive_some()
        assert chunk, f"EOF after {len(got)} of {size} bytes"
        got += chunk
    return bytes(got)


def wire(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


# --- a frame-aware man in the middle on memory streams -------------------------------------------


@attrs.frozen
class Cut:
    """Forward these bytes, then end the stream (EOF) in this direction."""

    data: bytes = b""


# (direction "c2s"/"s2c", frame index in that direction, frame) -> wire bytes to forward.
# c2s frames: 0 = handshake message 1, 1 = message 3, 2.. transport. s2c: 0 = message 2, 1.. .
Tamper = Callable[[str, int, bytes], bytes | Cut]


def passthrough(direction: str, index: int, frame: bytes) -> bytes | Cut:
    return wire(frame)


@attrs.define
class Mitm:
    client: trio.abc.Stream
    server: trio.abc.Stream
    frames: dict[str, list[bytes]]


def start_mitm(nursery: trio.Nursery, tamper: Tamper = passthrough) -> Mitm:
    """Client <-> relay <-> server; the relay parses frames and lets ``tamper`` rewrite them."""
    client, relay_client_side = trio.testing.memory_stream_pair()
    relay_server_side, server = trio.testing.memory_stream_pair()
    frames: dict[str, list[bytes]] = {"c2s": [], "s2c": []}

    async def relay(
        src: trio.abc.ReceiveStream, dst: trio.abc.HalfCloseableStream, direction: str
    ) -> None:
        buffer = bytearray()
        try:
            while chunk := await src.receive_some():
                buffer += chunk
                out = bytearray()
                while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
                    end = 2 + int.from_bytes(buffer[:2], "big")
                    frame = bytes(buffer[2:end])
                    del buffer[:end]
                    frames[direction].append(frame)
                    forwarded = tamper(direction, len(frames[direction]) - 1, frame)
                    if isinstance(forwarded, Cut):
                        await dst.send_all(bytes(out) + forwarded.data)
                        await dst.send_eof()
                        return
                    out += forwarded
                if out:
                    await dst.send_all(bytes(out))
            await dst.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    nursery.start_soon(relay, relay_client_side, relay_server_side, "c2s")
    nursery.start_soon(relay, relay_server_side, relay_client_side, "s2c")
    return Mitm(client, server, frames)


# --- Trio's generic stream contract --------------------------------------------------------------


async def memory_secure_pair() -> tuple[SecureStream, SecureStream]:
    return await connected(*trio.testing.memory_stream_pair())


async def lockstep_secure_pair() -> tuple[SecureStream, SecureStream]:
    # Lockstep streams block each send until the peer receives; the handshake still works when
    # both sides run concurrently, and afterwards the pair is "clogged" as Trio's checker needs.
    return await connected(*trio.testing.lockstep_stream_pair())


async def test_trio_two_way_stream_contract() -> None:
    with trio.fail_after(60):
        await trio.testing.check_two_way_stream(memory_secure_pair, lockstep_secure_pair)


# --- happy paths ---------------------------------------------------------------------------------


async def test_large_message_round_trip_split_into_frames() -> None:
    alice, bob = Side(), Side()
    to_bob = os.urandom(200 * 1024)
    to_alice = os.urandom(200 * 1024)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            mitm = start_mitm(nursery)
            a, b = await connected(mitm.client, mitm.server, alice, bob)
            assert a.remote_identity == bytes(bob.identity.verify_key)
            assert b.remote_identity == bytes(alice.identity.verify_key)
            received: dict[str, bytes] = {}

            async def receive_into(key: str, stream: SecureStream, size: int) -> None:
                received[key] = await receive_exactly(stream, size)

            async with trio.open_nursery() as inner:
                inner.start_soon(a.send_all, to_bob)
                inner.start_soon(b.send_all, to_alice)
                inner.start_soon(receive_into, "bob", b, len(to_bob))
                inner.start_soon(receive_into, "alice", a, len(to_alice))
            assert received == {"bob": to_bob, "alice": to_alice}
            expected_frames = -(-len(to_bob) // MAX_PLAINTEXT)
            assert expected_frames > 1
            assert len(mitm.frames["c2s"]) == 2 + expected_frames
            assert len(mitm.frames["s2c"]) == 1 + expected_frames
            for frame in mitm.frames["c2s"] + mitm.frames["s2c"]:
                assert len(frame) <= MAX_NOISE_MESSAGE
            await a.aclose()
            await b.aclose()
            nursery.cancel_scope.cancel()


async def test_receive_some_serves_buffered_bytes_up_to_max_bytes() -> None:
    with trio.fail_after(10):
        a, b = await memory_secure_pair()
        await a.send_all(b"abcdefghij")
        assert await b.receive_some(3) == b"abc"
        with trio.testing.assert_checkpoints():  # served from the buffer, still a checkpoint
            assert await b.receive_some(4) == b"defg"
        assert await b.receive_some(100) == b"hij"
        await a.aclose()
        assert await b.receive_some(10) == b""
        await b.aclose()


async def test_first_frame_in_same_chunk_as_handshake_message_3() -> None:
    """Bytes that arrive with the last handshake message must not be lost."""
    held: list[bytes] = []

    def coalesce(direction: str, index: int, frame: bytes) -> bytes | Cut:
        if direction == "c2s" and index == 1:  # hold message 3 ...
            held.append(frame)
            return b""
        if direction == "c2s" and index == 2:  # ... and send it with the first frame
            return wire(held[0]) + wire(frame)
        return wire(frame)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            mitm = start_mitm(nursery, coalesce)

            streams: list[SecureStream] = []

            async def initiator_then_send() -> None:
                stream = await open_secure_stream(
                    mitm.client,
                    initiator=True,
                    psk=PSK,
                    identity=Side().identity,
                    prologue=PROLOGUE,
                )
                streams.append(stream)
                await stream.send_all(b"early words")

            async with trio.open_nursery() as inner:
                inner.start_soon(initiator_then_send)
                server = await open_secure_stream(
                    mitm.server,
                    initiator=False,
                    psk=PSK,
                    identity=Side().identity,
                    prologue=PROLOGUE,
                )
                streams.append(server)
            assert await server.receive_some() == b"early words"
            for s in streams:
                await s.aclose()
            nursery.cancel_scope.cancel()


# --- handshake refusals --------------------------------------------------------------------------


@pytest.mark.parametrize("mismatch", ["psk", "prologue"])
async def test_wrong_class_secret_refused_before_any_data(mismatch: str) -> None:
    initiator = Side()
    responder = Side(psk=OTHER_PSK) if mismatch == "psk" else Side(prologue=b"peerclass/1other")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            mitm = start_mitm(nursery)
            a, b = await handshake_both(mitm.client, mitm.server, initiator, responder)
            assert isinstance(a, HandshakeError)
            assert isinstance(b, HandshakeError)
            assert str(b) == WRONG_SECRET
            # The responder answered nothing; only the (opaque) first message ever crossed.
            assert mitm.frames["s2c"] == []
            assert len(mitm.frames["c2s"]) == 1
            nursery.cancel_scope.cancel()


def _forged_payload(
    kind: str, mallory: nacl.signing.SigningKey, alice: nacl.signing.SigningKey
) -> Callable[[nacl.signing.SigningKey, bytes], bytes]:
    """Mallory's identity proof, forged in one of several ways; everyone else's is genuine."""
    original = secure_stream._identity_payload

    def forged(identity: nacl.signing.SigningKey, local_static: bytes) -> bytes:
        if identity is not mallory:
            return original(identity, local_static)
        if kind == "signs-other-static":
            return original(mallory, os.urandom(32))
        if kind == "claims-alice-key":
            return bytes(alice.verify_key) + original(mallory, local_static)[32:]
        # Alice's genuine proof captured from another connection (other static key).
        assert kind == "replays-alice-proof"
        return original(alice, os.urandom(32))

    return forged


@pytest.mark.parametrize("kind", ["signs-other-static", "claims-alice-key", "replays-alice-proof"])
@pytest.mark.parametrize("mallory_is_initiator", [True, False])
async def test_bad_identity_signature_refused(
    monkeypatch: pytest.MonkeyPatch, kind: str, mallory_is_initiator: bool
) -> None:
    mallory, alice, honest = Side(), Side(), Side()
    monkeypatch.setattr(
        secure_stream, "_identity_payload", _forged_payload(kind, mallory.identity, alice.identity)
    )
    pair = (mallory, honest) if mallory_is_initiator else (honest, mallory)
    with trio.fail_after(10):
        a, b = await handshake_both(*trio.testing.memory_stream_pair(), *pair)
    honest_outcome, mallory_outcome = (b, a) if mallory_is_initiator else (a, b)
    assert isinstance(honest_outcome, HandshakeError)
    assert str(honest_outcome) == BAD_SIGNATURE
    if isinstance(mallory_outcome, SecureStream):  # Mallory finished first; now it's cut off
        with trio.fail_after(10):
            assert await mallory_outcome.receive_some() == b""
            await mallory_outcome.aclose()


async def test_malformed_handshake_messages() -> None:
    with trio.fail_after(10):
        for garbage, expected in [
            (wire(b"x" * 10), "message 1 is 10 bytes"),
            (b"\x00\x30" + b"y" * 10, "middle of message 1"),
            (b"", "closed by the peer before message 1"),
        ]:
            attacker, victim = trio.testing.memory_stream_pair()
            await attacker.send_all(garbage)
            await attacker.send_eof()
            with pytest.raises(HandshakeError, match=expected):
                await open_secure_stream(
                    victim, initiator=False, psk=PSK, identity=Side().identity, prologue=PROLOGUE
                )
            # The refusing side closed its end.
            assert await attacker.receive_some() == b""


async def test_cancelled_handshake_closes_transport() -> None:
    with trio.fail_after(10):
        silent, victim = trio.testing.memory_stream_pair()
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:

                async def handshake() -> None:
                    await open_secure_stream(
                        victim,
                        initiator=True,
                        psk=PSK,
                        identity=Side().identity,
                        prologue=PROLOGUE,
                    )

                nursery.start_soon(handshake)
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()
        assert len(await receive_exactly(silent, 2 + 48)) == 50  # message 1 went out
        assert await silent.receive_some() == b""  # then the transport was closed


async def test_psk_must_be_32_bytes() -> None:
    a, _ = trio.testing.memory_stream_pair()
    with pytest.raises(ValueError, match="32 bytes"):
        await open_secure_stream(
            a, initiator=True, psk=b"short", identity=Side().identity, prologue=PROLOGUE
        )


# --- active attacks on the transport phase -------------------------------------------------------


def _on_first_data_frame(change: Callable[[bytes], bytes | Cut]) -> Tamper:
    def tamper(direction: str, index: int, frame: bytes) -> bytes | Cut:
        if direction == "c2s" and index == 2:
            return change(frame)
        return wire(frame)

    return tamper


def _flip(position: int) -> Callable[[bytes], bytes | Cut]:
    def change(frame: bytes) -> bytes | Cut:
        flipped = bytearray(frame)
        flipped[position] ^= 0x01
        return wire(bytes(flipped))

    return change


async def _expect_protocol_error(tamper: Tamper, messages: list[bytes]) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            mitm = start_mitm(nursery, tamper)
            a, b = await connected(mitm.client, mitm.server)
            for message in messages:
                await a.send_all(message)
            with pytest.raises(ProtocolError):
                while True:
                    assert await b.receive_some() in messages
            # The stream stays failed, in both directions.
            with pytest.raises(ProtocolError):
                await b.receive_some()
            with pytest.raises(trio.BrokenResourceError):
                await b.send_all(b"reply")
            await a.aclose()
            await b.aclose()
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("position", [0, 5, -1])
async def test_bit_flip_in_transport_frame(position: int) -> None:
    await _expect_protocol_error(_on_first_data_frame(_flip(position)), [b"top secret answer"])


async def test_truncated_mid_frame() -> None:
    def truncate(frame: bytes) -> bytes | Cut:
        return Cut(wire(frame)[: len(frame) // 2])

    await _expect_protocol_error(_on_first_data_frame(truncate), [b"a long enough answer"])


async def test_replayed_transport_frame() -> None:
    def replay(frame: bytes) -> bytes | Cut:
        return wire(frame) + wire(frame)

    await _expect_protocol_error(_on_first_data_frame(replay), [b"pay 10 coins"])


async def test_reordered_transport_frames() -> None:
    held: list[bytes] = []

    def swap(direction: str, index: int, frame: bytes) -> bytes | Cut:
        if direction == "c2s" and index == 2:
            held.append(frame)
            return b""
        if direction == "c2s" and index == 3:
            return wire(frame) + wire(held[0])
        return wire(frame)

    await _expect_protocol_error(swap, [b"first", b"second"])


async def test_clean_eof_at_frame_boundary_is_normal_eof() -> None:
    cut = _on_first_data_frame(lambda frame: Cut(wire(frame)))
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            mitm = start_mitm(nursery, cut)
            a, b = await connected(mitm.client, mitm.server)
            await a.send_all(b"last words")
            assert await b.receive_some() == b"last words"
            assert await b.receive_some() == b""
            await a.aclose()
            await b.aclose()
            nursery.cancel_scope.cancel()


async def test_replayed_handshake_message_1_gives_attacker_nothing() -> None:
    alice, bob, carol = Side(), Side(), Side()
    with trio.fail_after(10):
        # A genuine session, recorded by an eavesdropper.
        async with trio.open_nursery() as nursery:
            mitm = start_mitm(nursery)
            a, b = await connected(mitm.client, mitm.server, alice, bob)
            await a.aclose()
            await b.aclose()
            nursery.cancel_scope.cancel()
        message_1, message_3 = mitm.frames["c2s"][:2]

        # Replay message 1 to a fresh responder: it answers, but the attacker cannot finish.
        attacker, carol_transport = trio.testing.memory_stream_pair()
        outcome: list[Outcome] = []

        async def carol_side() -> None:
            try:
                outcome.append(
                    await open_secure_stream(
                        carol_transport,
                        initiator=False,
                        psk=PSK,
                        identity=carol.identity,
                        prologue=PROLOGUE,
                    )
                )
            except HandshakeError as exc:
                outcome.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(carol_side)
            await attacker.send_all(wire(message_1))
            reply = await receive_exactly(attacker, 2 + 192)
            # Carol's identity travels encrypted.
            assert bytes(carol.identity.verify_key) not in reply
            await attacker.send_all(wire(message_3))  # the only message 3 the attacker has
        assert len(outcome) == 1
        assert isinstance(outcome[0], HandshakeError)
        assert str(outcome[0]) == WRONG_SECRET
        assert await attacker.receive_some() == b""


# --- real loopback TCP ---------------------------------------------------------------------------


async def test_loopback_tcp_through_recording_proxy() -> None:
    alice, bob = Side(), Side()
    question = b"What is the derivative of x**2? (peerclass plaintext marker)"
    answer = b"It is 2*x, says the teacher. (peerclass plaintext marker)"
    captured = {"c2s": bytearray(), "s2c": bytearray()}
    server_listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    proxy_listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    server_port = server_listener.socket.getsockname()[1]
    proxy_port = proxy_listener.socket.getsockname()[1]

    async def pump(src: trio.SocketStream, dst: trio.SocketStream, direction: str) -> None:
        try:
            while chunk := await src.receive_some():
                captured[direction] += chunk
                await dst.send_all(chunk)
            await dst.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def proxy() -> None:
        downstream = await proxy_listener.accept()
        upstream = await trio.open_tcp_stream("127.0.0.1", server_port)
        async with downstream, upstream, trio.open_nursery() as nursery:
            nursery.start_soon(pump, downstream, upstream, "c2s")
            nursery.start_soon(pump, upstream, downstream, "s2c")

    async def server() -> None:
        raw = await server_listener.accept()
        stream = await open_secure_stream(
            raw, initiator=False, psk=PSK, identity=bob.identity, prologue=PROLOGUE
        )
        async with stream:
            assert stream.remote_identity == bytes(alice.identity.verify_key)
            assert await receive_exactly(stream, len(question)) == question
            await stream.send_all(answer)
            assert await stream.receive_some() == b""

    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(proxy)
                nursery.start_soon(server)
                raw = await trio.open_tcp_stream("127.0.0.1", proxy_port)
                client = await open_secure_stream(
                    raw, initiator=True, psk=PSK, identity=alice.identity, prologue=PROLOGUE
                )
                async with client:
                    assert client.remote_identity == bytes(bob.identity.verify_key)
                    await client.send_all(question)
                    assert await receive_exactly(client, len(answer)) == answer
    finally:
        await server_listener.aclose()
        await proxy_listener.aclose()

    assert len(captured["c2s"]) > len(question)
    assert len(captured["s2c"]) > len(answer)
    for raw_bytes in captured.values():
        for secret in (
            question,
            answer,
            b"plaintext marker",
            bytes(alice.identity.verify_key),
            bytes(bob.identity.verify_key),
            PSK,
        ):
            assert secret not in raw_bytes


async def test_a_member_sending_a_degenerate_ephemeral_key_is_refused_cleanly() -> None:
    """An all-zero X25519 key makes DH fail while the responder writes message 2: that must
    be a HandshakeError (closing one connection), never an exception that escapes."""

    class ZeroKey:
        public_bytes = b"\0" * 32
        private = None

    session = secure_stream._NoiseSession(initiator=True, psk=PSK, prologue=PROLOGUE)
    session._conn.noise_protocol.handshake_state.e = ZeroKey()  # type: ignore[attr-defined]
    attacker, victim = trio.testing.memory_stream_pair()
    with trio.fail_after(10):
        await attacker.send_all(wire(session.write_handshake(b"")))
        with pytest.raises(HandshakeError, match="unusable key"):
            await open_secure_stream(
                victim, initiator=False, psk=PSK, identity=Side().identity, prologue=PROLOGUE
            )
        assert await attacker.receive_some() == b""
