"""Opening a connection: an encrypted Noise handshake keyed by the class secret, then ``Hello``.

The Noise handshake proves both sides hold the class secret and binds each side's identity
key to the session; ``Hello`` then states protocol version, class and listening port, and
must name the same peer id Noise authenticated.
"""

from __future__ import annotations

import attrs
import trio

from peer.errors import HandshakeError, ProtocolError
from peer.identity import Membership
from peer.net._config import HANDSHAKE_TIMEOUT
from peer.net._framed import FramedStream
from peer.net._secure_stream import open_secure_stream
from peer.net._wire import FEATURE_PEX, PROTOCOL_VERSION, Hello


@attrs.frozen
class Handshaken:
    """An authenticated connection: the framed secure stream and the other side's ``Hello``,
    whose peer id Noise has proved. The node decides from it whether to keep the connection
    (roster, duplicates, limits) before any sync starts."""

    framed: FramedStream
    hello: Hello


def prologue(class_id: bytes) -> bytes:
    """What both sides bind into the Noise handshake: a different protocol or class makes it
    fail, instead of two incompatible peers getting as far as exchanging messages."""
    return b"peerclass/1" + class_id


async def handshake(
    stream: trio.abc.Stream,
    membership: Membership,
    *,
    initiator: bool,
    listen_port: int,
    deadline: float = HANDSHAKE_TIMEOUT,
) -> Handshaken:
    """Authenticate ``stream`` and exchange ``Hello``, within ``deadline`` seconds.

    Only members of the class (holders of its secret) get past Noise, and each side proves
    the identity key its ``Hello`` names, so the session that follows knows whom it syncs
    with. The deadline is the node's ``handshake_timeout``: a socket that never speaks frees
    its handshake slot. Every failure (timeout, broken connection, bad or foreign hello,
    ourselves) is one HandshakeError with the reason; ``stream`` is the caller's to close.
    """
    klass = membership.klass
    try:
        with trio.fail_after(deadline):
            secure = await open_secure_stream(
                stream,
                initiator=initiator,
                psk=klass.secret,
                identity=membership.signing_key,
                prologue=prologue(klass.class_id),
            )
            framed = FramedStream(secure)
            await framed.send(
                Hello(
                    PROTOCOL_VERSION,
                    klass.class_id,
                    membership.peer_id,
                    listen_port,
                    (FEATURE_PEX,),
                )
            )
            hello = await framed.receive()
    except trio.TooSlowError:
        raise HandshakeError(f"handshake did not finish within {deadline:.0f}s") from None
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        raise HandshakeError(f"connection broke during the handshake: {exc}") from None
    except HandshakeError:
        raise
    except ProtocolError as exc:
        raise HandshakeError(f"bad hello: {exc}") from None
    if not isinstance(hello, Hello):
        raise HandshakeError("peer did not open with hello")
    if hello.version != PROTOCOL_VERSION:
        raise HandshakeError(f"peer speaks protocol {hello.version}, we speak {PROTOCOL_VERSION}")
    if hello.class_id != klass.class_id:
        raise HandshakeError("peer belongs to another class")
    if hello.peer_id != secure.remote_identity:
        raise HandshakeError("peer's hello names a different key than it proved")
    if hello.peer_id == membership.peer_id:
        raise HandshakeError("connected to ourselves")
    return Handshaken(framed, hello)
