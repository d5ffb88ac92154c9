"""The wire protocol: length-prefixed msgpack frames carrying a small tagged union of messages.

A frame is a 4-byte big-endian length then one msgpack map whose ``t`` names the message.
Parsing is strict: a frame over the limit, a malformed map or an unknown message is a
ProtocolError, and the connection that sent it is closed.

Sans-IO: bytes in, messages out. Reading frames off a stream is :mod:`_framed`'s job, so the
sync machine and its tests load the codec without Trio.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from peer.errors import ProtocolError, ValidationError
from peer.log import pack, unpack

#: 2: version vectors carry each author's head id; lazy announcements, prune and range
#: requests (Plumtree); pushed event batches are marked as such.
PROTOCOL_VERSION = 2
MAX_FRAME = 1024 * 1024
#: Events per ``events`` message: large enough to amortise the signature check, small enough
#: to keep a frame under MAX_FRAME for ordinary events.
BATCH_EVENTS = 1000
BATCH_BYTES = 768 * 1024
#: Authors per ``have`` / ``ihave`` / ``want`` frame: 10,000 entries of ~75 bytes stay well
#: under MAX_FRAME.
VECTOR_CHUNK = 10_000
#: The length prefix of every frame.
LENGTH = struct.Struct(">I")

#: author -> (last seq held, id of that event): a version vector with head ids, so two peers
#: holding different events at the same seq see it at once.
Vector = dict[bytes, tuple[int, bytes]]


@attrs.frozen
class Hello:
    """First message on a connection, both ways: who we are and where we listen."""

    version: int
    class_id: bytes
    peer_id: bytes
    port: int
    #: Optional features this side speaks beyond ``version`` (e.g. ``"pex"``: it takes
    #: ``Addrs``). Older peers send none and ignore ours, so a new message is only ever sent
    #: to a side that named it here: adding one needs no new protocol version.
    features: tuple[str, ...] = ()


#: The peer-exchange feature: the side takes ``Addrs`` (issue 21).
FEATURE_PEX = "pex"
MAX_FEATURES = 8
#: Address records per ``addrs`` frame (each at most ``_exchange.MAX_RECORD`` bytes).
MAX_ADDR_RECORDS = 64
#: Bytes of one record on the wire (``_exchange.MAX_RECORD``, checked again there).
MAX_ADDR_RECORD = 320
#: Ways an ``addrs`` frame may say it hears the receiver by (beacon, mdns, and room to grow).
MAX_HEARS = 4


@attrs.frozen
class Have:
    """Our whole version vector; the receiver streams every event we lack (authors absent
    from it are wanted from seq 1)."""

    heads: Vector
    #: More frames of this same vector follow (a large vector is sent in chunks).
    more: bool = False
    #: "Announce, don't serve" (issue 21): answer with an ``ihave`` of what we lack, and we
    #: fetch each author from one link (a graft), so a late joiner with many links is served
    #: once, not once per link. An older peer ignores the key and serves as before.
    split: bool = False


@attrs.frozen
class Want:
    """Send me these authors' events past these seqs (a gap repair, a missed announcement,
    or fork evidence); with ``graft`` also push to me eagerly from now on."""

    after: dict[bytes, int]
    graft: bool = False


@attrs.frozen
class IHave:
    """A lazy announcement: the sender now holds these authors up to these heads."""

    heads: Vector


@attrs.frozen
class Prune:
    """Stop pushing these authors to me eagerly (their events reached me by another path
    first); announce them instead."""

    authors: list[bytes]


@attrs.frozen
class Events:
    """A batch of raw signed events, each author's in seq order; ``pushed`` when sent as live
    gossip rather than in answer to a request (only pushed duplicates prune a link)."""

    events: list[bytes]
    pushed: bool = False


@attrs.frozen
class Addrs:
    """Peer exchange: signed address records of members the sender is connected to (and its
    own), each verified by the receiver before use (``peer.net._exchange``). Sent only to a
    side whose ``Hello`` named ``FEATURE_PEX``.

    ``hears``: whether the sender recently heard the *receiver* by each way it listens on
    ("beacon", "mdns"), so a peer learns whether others hear it, not only whether it hears
    them (``peerclass doctor``: broadcast passing one way only). A way the sender does not
    listen on is absent; None (the key absent) is an older peer that does not say. Older
    peers ignore the key, so it needs no feature of its own."""

    records: list[bytes]
    hears: dict[str, bool] | None = None


@attrs.frozen
class Ping:
    """A keep-alive: a connection that hears nothing for the idle timeout is dead, so an idle
    but healthy one must say something now and then."""


@attrs.frozen
class Bye:
    """A polite close with the reason (e.g. duplicate connection)."""

    reason: str


Message = Hello | Have | Want | IHave | Prune | Events | Addrs | Ping | Bye


#: A head on the wire: seq (8 bytes, big-endian) then the head id, one byte string per author
#: so that a vector is one map (the decoder limits how many containers a frame may hold).
_HEAD = struct.Struct(">Q32s")


def _vector_body(heads: Vector) -> dict[bytes, bytes]:
    return {author: _HEAD.pack(seq, head) for author, (seq, head) in heads.items()}


def encode(message: Message) -> bytes:
    """A message as a frame (length prefix included), ready for the stream. Refuses a frame
    over MAX_FRAME here, because the receiver would refuse it and drop the connection."""
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
            if message.features:
                body["x"] = list(message.features)
        case Have():
            body = {"t": "have", "heads": _vector_body(message.heads), "more": message.more}
            if message.split:
                body["split"] = True
        case Want():
            body = {"t": "want", "after": message.after, "graft": message.graft}
        case IHave():
            body = {"t": "ihave", "heads": _vector_body(message.heads)}
        case Prune():
            body = {"t": "prune", "authors": message.authors}
        case Events():
            body = {"t": "events", "events": message.events, "pushed": message.pushed}
        case Addrs():
            body = {"t": "addrs", "records": message.records}
            if message.hears is not None:
                body["hears"] = message.hears
        case Ping():
            body = {"t": "ping"}
        case Bye():
            body = {"t": "bye", "reason": message.reason}
    data = pack(body)
    if len(data) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds the {MAX_FRAME} limit")
    return LENGTH.pack(len(data)) + data


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise ProtocolError(f"malformed message: {what}")


def _author(value: object, what: str) -> bytes:
    _require(isinstance(value, bytes) and len(value) == 32, f"{what} author")
    assert isinstance(value, bytes)
    return value


def _vector(value: object, what: str) -> Vector:
    """A vector of at most VECTOR_CHUNK authors, each with a seq >= 1 and a 32-byte head id."""
    _require(isinstance(value, dict) and len(value) <= VECTOR_CHUNK, f"{what} heads")
    assert isinstance(value, dict)
    out: Vector = {}
    for author, head in value.items():
        _author(author, what)
        _require(isinstance(head, bytes) and len(head) == _HEAD.size, f"{what} head")
        seq, head_id = _HEAD.unpack(head)
        _require(seq >= 1, f"{what} seq")
        out[author] = (seq, head_id)
    return out


def decode(data: bytes) -> Message:
    """Parse one frame's payload. Strict, because the payload comes from another machine:
    anything malformed, oversized or unknown is a ProtocolError saying what is wrong, and the
    connection that sent it is closed (nothing half-parsed reaches the sync machine)."""
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
        features = body.get("x", [])
        _require(
            isinstance(features, list)
            and len(features) <= MAX_FEATURES
            and all(isinstance(f, str) and len(f) <= 32 for f in features),
            "hello features",
        )
        return Hello(v, cid, pid, port, tuple(features))
    if tag == "have":
        more, split = body.get("more", False), body.get("split", False)
        _require(isinstance(more, bool), "have more flag")
        _require(isinstance(split, bool), "have split flag")
        return Have(_vector(body.get("heads"), "have"), more, split)
    if tag == "ihave":
        return IHave(_vector(body.get("heads"), "ihave"))
    if tag == "want":
        after, graft = body.get("after"), body.get("graft", False)
        _require(isinstance(after, dict) and len(after) <= VECTOR_CHUNK, "want ranges")
        _require(isinstance(graft, bool), "want graft flag")
        for author, seq in after.items():
            _author(author, "want")
            _require(type(seq) is int and seq >= 0, "want seq")
        return Want(after, graft)
    if tag == "prune":
        authors = body.get("authors")
        _require(isinstance(authors, list) and len(authors) <= VECTOR_CHUNK, "prune authors")
        return Prune([_author(a, "prune") for a in authors])
    if tag == "events":
        evs, pushed = body.get("events"), body.get("pushed", False)
        _require(isinstance(evs, list), "events list")
        _require(all(isinstance(e, bytes) for e in evs), "events must be byte strings")
        _require(isinstance(pushed, bool), "events pushed flag")
        return Events(evs, pushed)
    if tag == "addrs":
        records = body.get("records")
        _require(isinstance(records, list) and len(records) <= MAX_ADDR_RECORDS, "addrs records")
        _require(
            all(isinstance(r, bytes) and len(r) <= MAX_ADDR_RECORD for r in records),
            "addrs record",
        )
        hears = body.get("hears")
        _require(
            hears is None
            or (
                isinstance(hears, dict)
                and len(hears) <= MAX_HEARS
                and all(isinstance(k, str) and len(k) <= 16 for k in hears)
                and all(isinstance(v, bool) for v in hears.values())
            ),
            "addrs hears",
        )
        return Addrs(records, hears)
    if tag == "ping":
        return Ping()
    if tag == "bye":
        reason = body.get("reason")
        _require(isinstance(reason, str), "bye reason")
        return Bye(reason[:200])
    raise ProtocolError(f"unknown message type {tag[:32]!r}")
