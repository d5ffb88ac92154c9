"""Peer exchange: members tell each other where the members they are connected to listen.

Broadcast beacons never cross a router and Wi-Fi client isolation drops them, so a student
who reaches one member (through the invite's addresses or ``--peer``) must learn the rest from
it. Each member signs its own *address record* (its peer id, the addresses it listens on, the
time), and peers pass on the records of the members they are connected to. A relay cannot
forge or alter a record (the signature is the described member's, over the class id too, so
a record of one class means nothing in another), and cannot replay an old one: a record is
taken only if it is fresh and newer than the last one taken for that member.

Sans-IO: the caller passes the wall clock in; nothing here opens a socket.
"""

from __future__ import annotations

import ipaddress

import attrs
import nacl.exceptions
import nacl.signing

from peer.errors import ValidationError
from peer.log import pack, unpack
from peer.net._wire import MAX_ADDR_RECORD

__all__ = [
    "MAX_ADDRESSES",
    "MAX_RECORD",
    "AddressBook",
    "AddressRecord",
    "decode_record",
    "encode_record",
]

#: What a record's signature covers besides its fields: the purpose and the class.
_DOMAIN = b"peerclass/address-record/1"
SIGNATURE_SIZE = 64
#: Addresses one record may name (a laptop's Wi-Fi, wired and overlay addresses).
MAX_ADDRESSES = 4
#: Bytes of one encoded record: four IPv6 addresses and a signature fit with room to spare.
MAX_RECORD = MAX_ADDR_RECORD
#: A record is taken only if its time is at most this far from ours, behind or ahead (ms).
MAX_AGE_MS = 15 * 60_000
MAX_AHEAD_MS = 2 * 60_000
#: Members the book remembers (the least recently updated goes first).
MAX_MEMBERS = 1024

Address = tuple[str, int]


@attrs.frozen
class AddressRecord:
    """Where ``peer_id`` said, at ``sent_ms`` on its clock, that it listens; ``raw`` is the
    signed encoding, relayed as it is (never re-encoded)."""

    peer_id: bytes
    addresses: tuple[Address, ...]
    sent_ms: int
    raw: bytes = attrs.field(eq=False, repr=False)


def _signed_part(class_id: bytes, body: bytes) -> bytes:
    return _DOMAIN + class_id + body


def _check_address(host: object, port: object) -> Address:
    """An IP literal (no name to resolve: a record must not make us query DNS) and a port."""
    if not isinstance(host, str) or len(host) > 45:
        raise ValidationError("address record host is malformed")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValidationError(f"address record host {host[:45]!r} is not an IP address") from None
    if ip.is_multicast or ip.is_unspecified:
        raise ValidationError(f"address record host {host} cannot be dialed")
    if type(port) is not int or not 1 <= port <= 65535:
        raise ValidationError(f"address record port {port!r} is out of range")
    return str(ip), port


def encode_record(
    signing_key: nacl.signing.SigningKey,
    class_id: bytes,
    addresses: list[Address] | tuple[Address, ...],
    sent_ms: int,
) -> bytes:
    """Our own record: at most MAX_ADDRESSES addresses (the first ones kept), signed."""
    kept = [list(_check_address(h, p)) for h, p in list(addresses)[:MAX_ADDRESSES]]
    body = pack([bytes(signing_key.verify_key), kept, sent_ms])
    return body + signing_key.sign(_signed_part(class_id, body)).signature


def decode_record(class_id: bytes, raw: object, *, now_ms: int) -> AddressRecord:
    """The record in ``raw``, or ValidationError saying why it is refused: oversized,
    malformed, not signed by the member it names (forged, altered, or of another class), or
    too old / too far ahead (replayed from long ago, or a clock far off)."""
    if not isinstance(raw, bytes):
        raise ValidationError("address record is not a byte string")
    if not SIGNATURE_SIZE < len(raw) <= MAX_RECORD:
        raise ValidationError(f"address record of {len(raw)} bytes is out of bounds")
    body, signature = raw[:-SIGNATURE_SIZE], raw[-SIGNATURE_SIZE:]
    fields = unpack(body, what="address record")
    if not (isinstance(fields, list) and len(fields) == 3):
        raise ValidationError("address record fields are malformed")
    peer_id, addresses, sent_ms = fields
    if not (isinstance(peer_id, bytes) and len(peer_id) == 32):
        raise ValidationError("address record peer id is not a 32-byte key")
    if not (isinstance(addresses, list) and 1 <= len(addresses) <= MAX_ADDRESSES):
        raise ValidationError("address record names no address or too many")
    if type(sent_ms) is not int:
        raise ValidationError("address record time is not an integer")
    try:
        nacl.signing.VerifyKey(peer_id).verify(_signed_part(class_id, body), signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise ValidationError(
            "address record is not signed by the member it names (forged or altered)"
        ) from None
    parsed = []
    for entry in addresses:
        if not (isinstance(entry, list) and len(entry) == 2):
            raise ValidationError("address record entry is malformed")
        parsed.append(_check_address(entry[0], entry[1]))
    if now_ms - sent_ms > MAX_AGE_MS or sent_ms - now_ms > MAX_AHEAD_MS:
        raise ValidationError(
            f"address record is {abs(now_ms - sent_ms) // 1000}s away from our clock "
            "(replayed from long ago, or a clock far off)"
        )
    return AddressRecord(peer_id, tuple(parsed), sent_ms, raw)


@attrs.define(eq=False)
class AddressBook:
    """The newest verified record of each member: what we relay, and whom we may dial.

    ``take`` refuses a record not newer than the last one taken for its member, so a relay
    replaying an old record (say, from before the member moved to another network) changes
    nothing. Bounded: at most ``max_members`` members, the least recently updated dropped.
    """

    class_id: bytes
    own_id: bytes
    max_members: int = MAX_MEMBERS
    _records: dict[bytes, AddressRecord] = attrs.field(factory=dict)
    #: Records refused, by reason (the node summarises them; the doctor shows them).
    refused: dict[str, int] = attrs.field(factory=dict)

    def take(self, raw: object, *, now_ms: int) -> AddressRecord | None:
        """Verify and keep ``raw``; the record if it is news, None if refused or not newer
        (counted in ``refused`` by reason). Our own record relayed back is not news."""
        try:
            record = decode_record(self.class_id, raw, now_ms=now_ms)
        except ValidationError as exc:
            self._refuse(str(exc).split(" (")[0])
            return None
        if record.peer_id == self.own_id:
            return None
        last = self._records.get(record.peer_id)
        if last is not None and record.sent_ms <= last.sent_ms:
            if record.sent_ms < last.sent_ms or record.raw != last.raw:
                self._refuse("address record not newer than the last one (replayed)")
            return None
        self._records.pop(record.peer_id, None)
        if len(self._records) >= self.max_members:
            self._records.pop(next(iter(self._records)))
        self._records[record.peer_id] = record
        return record

    def _refuse(self, reason: str) -> None:
        if reason in self.refused or len(self.refused) < 32:
            self.refused[reason] = self.refused.get(reason, 0) + 1

    def addresses(self, now_ms: int) -> dict[bytes, tuple[Address, ...]]:
        """Each member's addresses from its newest record still within MAX_AGE_MS."""
        return {
            peer: record.addresses
            for peer, record in self._records.items()
            if now_ms - record.sent_ms <= MAX_AGE_MS
        }

    def raws(self, members: set[bytes] | frozenset[bytes], now_ms: int) -> list[bytes]:
        """The signed records of ``members`` still fresh, to relay as they are."""
        return [
            record.raw
            for peer, record in self._records.items()
            if peer in members and now_ms - record.sent_ms <= MAX_AGE_MS
        ]
