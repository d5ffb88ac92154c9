"""Signed, hash-chained events: the only thing peerclass stores and syncs.

An event's bytes are ``msgpack([version, author, seq, prev, ts, kind, body]) || signature``.
The signature covers exactly the bytes before it, so a peer verifies and relays the bytes it
received and never re-encodes them. The event id is BLAKE2b-256 of all the bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs
import nacl.exceptions
import nacl.signing

from peer.errors import ValidationError
from peer.log._codec import canonical, is_canonical, pack, unpack
from peer.log._kinds import validate_body

EVENT_VERSION = 1
SIGNATURE_SIZE = 64
KEY_SIZE = 32
ID_SIZE = 32
MAX_EVENT_SIZE = 256 * 1024
MAX_SEQ = 2**53


def event_id(raw: bytes) -> bytes:
    """The id of an event: BLAKE2b-256 over its exact signed bytes, signature included."""
    return hashlib.blake2b(raw, digest_size=ID_SIZE).digest()


@attrs.frozen
class Event:
    """One decoded event; ``raw`` is what was signed and is what gets stored and forwarded."""

    author: bytes
    seq: int
    prev: bytes | None
    ts: int
    kind: str
    body: dict[str, Any]
    raw: bytes
    id: bytes

    @property
    def signed_part(self) -> bytes:
        return self.raw[:-SIGNATURE_SIZE]

    @property
    def signature(self) -> bytes:
        return self.raw[-SIGNATURE_SIZE:]

    def verify_signature(self) -> bool:
        """Whether the author's key signed these bytes (one Ed25519 check)."""
        try:
            nacl.signing.VerifyKey(self.author).verify(self.signed_part, self.signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            return False
        return True


def make_event(
    signing_key: nacl.signing.SigningKey,
    *,
    seq: int,
    prev: bytes | None,
    ts: int,
    kind: str,
    body: Mapping[str, Any],
) -> Event:
    """Author a new event: validate the body, encode canonically, sign."""
    author = bytes(signing_key.verify_key)
    body_dict = canonical(dict(body))
    validate_body(kind, body_dict)
    signed = pack([EVENT_VERSION, author, seq, prev, ts, kind, body_dict])
    raw = signed + signing_key.sign(signed).signature
    if len(raw) > MAX_EVENT_SIZE:
        raise ValidationError(f"event is {len(raw)} bytes; the limit is {MAX_EVENT_SIZE}")
    return Event(author, seq, prev, ts, kind, body_dict, raw, event_id(raw))


def decode_event(raw: bytes) -> Event:
    """Decode and check the structure of an event from outside (not its signature or chain).

    Raises ValidationError saying what is wrong: size, encoding, field types, kind or body.
    """
    if not isinstance(raw, bytes):
        raise ValidationError("event is not a byte string")
    if len(raw) > MAX_EVENT_SIZE:
        raise ValidationError(f"event is {len(raw)} bytes; the limit is {MAX_EVENT_SIZE}")
    if len(raw) <= SIGNATURE_SIZE:
        raise ValidationError("event is too short to carry a signature")
    signed = raw[:-SIGNATURE_SIZE]
    fields = unpack(signed, what="event")
    if not isinstance(fields, list) or len(fields) != 7:
        raise ValidationError("event is not a list of 7 fields")
    version, author, seq, prev, ts, kind, body = fields
    if version != EVENT_VERSION:
        raise ValidationError(f"event version {version!r} is not supported")
    if not isinstance(author, bytes) or len(author) != KEY_SIZE:
        raise ValidationError("event author is not a 32-byte key")
    if type(seq) is not int or not 1 <= seq < MAX_SEQ:
        raise ValidationError(f"event seq {seq!r} is not a positive integer")
    if seq == 1 and prev is not None:
        raise ValidationError("first event of a log has a prev")
    if seq > 1 and (not isinstance(prev, bytes) or len(prev) != ID_SIZE):
        raise ValidationError("event prev is not a 32-byte id")
    if type(ts) is not int or not 0 < ts < 2**63:
        raise ValidationError(f"event ts {ts!r} is not a positive 64-bit integer")
    if not isinstance(kind, str):
        raise ValidationError("event kind is not a string")
    if not isinstance(body, dict):
        raise ValidationError("event body is not a map")
    if not is_canonical(fields, signed):
        raise ValidationError("event is not canonically encoded (map keys must be sorted strings)")
    validate_body(kind, body)
    return Event(author, seq, prev, ts, kind, body, raw, event_id(raw))
