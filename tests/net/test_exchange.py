"""Peer exchange, sans-IO: signed address records, the book that keeps the newest per member,
the ``addrs`` message and the ``Hello`` feature that gates it, and the sync machine passing
records on. A forged, altered, other-class, stale or replayed record is refused."""

from __future__ import annotations

import nacl.signing
import pytest

from peer.errors import ProtocolError, ValidationError
from peer.log import pack, unpack
from peer.net._exchange import (
    MAX_AGE_MS,
    MAX_RECORD,
    AddressBook,
    decode_record,
    encode_record,
)
from peer.net._gossip import Gossip
from peer.net._sync import AddressesHeard, Send, SyncMachine
from peer.net._wire import (
    FEATURE_PEX,
    LENGTH,
    MAX_ADDR_RECORDS,
    Addrs,
    Hello,
    decode,
    encode,
)

CLASS = b"c" * 16
OTHER_CLASS = b"d" * 16
NOW = 1_800_000_000_000


def key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


def payload(frame: bytes) -> bytes:
    return frame[LENGTH.size :]


def test_a_record_round_trips_and_names_its_signer() -> None:
    member = key()
    raw = encode_record(member, CLASS, [("10.0.0.5", 4000), ("fd00::1", 4000)], NOW)
    record = decode_record(CLASS, raw, now_ms=NOW + 1000)
    assert record.peer_id == bytes(member.verify_key)
    assert record.addresses == (("10.0.0.5", 4000), ("fd00::1", 4000))
    assert record.sent_ms == NOW
    assert len(raw) <= MAX_RECORD


def test_a_record_altered_by_a_relay_is_refused_as_forged() -> None:
    member = key()
    raw = encode_record(member, CLASS, [("10.0.0.5", 4000)], NOW)
    body = unpack(raw[:-64], what="test")
    body[1] = [["10.6.6.6", 4000]]  # the relay points the member's id at its own address
    forged = pack(body) + raw[-64:]
    with pytest.raises(ValidationError, match="not signed by the member"):
        decode_record(CLASS, forged, now_ms=NOW)


def test_a_record_signed_by_someone_else_than_the_member_it_names_is_refused() -> None:
    victim, forger = key(), key()
    body = pack([bytes(victim.verify_key), [["10.6.6.6", 4000]], NOW])
    signature = forger.sign(b"peerclass/address-record/1" + CLASS + body).signature
    with pytest.raises(ValidationError, match="not signed by the member"):
        decode_record(CLASS, body + signature, now_ms=NOW)


def test_a_record_of_another_class_means_nothing_here() -> None:
    raw = encode_record(key(), OTHER_CLASS, [("10.0.0.5", 4000)], NOW)
    with pytest.raises(ValidationError, match="not signed"):
        decode_record(CLASS, raw, now_ms=NOW)


def test_stale_and_far_future_records_are_refused() -> None:
    member = key()
    old = encode_record(member, CLASS, [("10.0.0.5", 4000)], NOW - MAX_AGE_MS - 1)
    with pytest.raises(ValidationError, match="away from our clock"):
        decode_record(CLASS, old, now_ms=NOW)
    ahead = encode_record(member, CLASS, [("10.0.0.5", 4000)], NOW + 10 * 60_000)
    with pytest.raises(ValidationError, match="away from our clock"):
        decode_record(CLASS, ahead, now_ms=NOW)


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        ([["example.org", 4000]], "not an IP address"),
        ([["0.0.0.0", 4000]], "cannot be dialed"),
        ([["224.0.0.251", 4000]], "cannot be dialed"),
        ([["10.0.0.5", 0]], "out of range"),
        ([], "no address or too many"),
        ([["10.0.0.5", 1]] * 5, "no address or too many"),
    ],
)
def test_malformed_addresses_are_refused_with_the_reason(
    addresses: list[list[object]], reason: str
) -> None:
    member = key()
    body = pack([bytes(member.verify_key), addresses, NOW])
    raw = body + member.sign(b"peerclass/address-record/1" + CLASS + body).signature
    with pytest.raises(ValidationError, match=reason):
        decode_record(CLASS, raw, now_ms=NOW)


def test_oversized_and_non_byte_records_are_refused_before_parsing() -> None:
    with pytest.raises(ValidationError, match="out of bounds"):
        decode_record(CLASS, b"x" * (MAX_RECORD + 1), now_ms=NOW)
    with pytest.raises(ValidationError, match="not a byte string"):
        decode_record(CLASS, "text", now_ms=NOW)


def test_the_book_takes_only_newer_records_per_member_and_refuses_a_replay() -> None:
    member = key()
    book = AddressBook(CLASS, own_id=bytes(key().verify_key))
    first = encode_record(member, CLASS, [("10.0.0.5", 4000)], NOW)
    moved = encode_record(member, CLASS, [("10.0.9.9", 4001)], NOW + 5000)
    assert book.take(first, now_ms=NOW) is not None
    assert book.take(moved, now_ms=NOW + 5000) is not None
    # The old record, replayed by a relay, moves the member back nowhere.
    assert book.take(first, now_ms=NOW + 6000) is None
    assert book.addresses(NOW + 6000) == {bytes(member.verify_key): (("10.0.9.9", 4001),)}
    assert book.refused == {"address record not newer than the last one (replayed)": 1}
    # The same record heard twice (from two relays) is not news, and not a replay either.
    assert book.take(moved, now_ms=NOW + 6000) is None
    assert sum(book.refused.values()) == 1


def test_the_book_refuses_a_forged_record_and_counts_why() -> None:
    book = AddressBook(CLASS, own_id=b"o" * 32)
    assert book.take(b"\x93" + b"z" * 100, now_ms=NOW) is None
    assert sum(book.refused.values()) == 1


def test_the_book_ignores_our_own_record_and_is_bounded() -> None:
    me = key()
    book = AddressBook(CLASS, own_id=bytes(me.verify_key), max_members=3)
    assert book.take(encode_record(me, CLASS, [("10.0.0.1", 1)], NOW), now_ms=NOW) is None
    members = [key() for _ in range(5)]
    for member in members:
        book.take(encode_record(member, CLASS, [("10.0.0.2", 2)], NOW), now_ms=NOW)
    kept = book.addresses(NOW)
    assert set(kept) == {bytes(m.verify_key) for m in members[2:]}


def test_the_book_relays_only_fresh_records_of_the_members_asked_for() -> None:
    a, b = key(), key()
    book = AddressBook(CLASS, own_id=b"o" * 32)
    raw_a = encode_record(a, CLASS, [("10.0.0.5", 4000)], NOW)
    raw_b = encode_record(b, CLASS, [("10.0.0.6", 4000)], NOW)
    book.take(raw_a, now_ms=NOW)
    book.take(raw_b, now_ms=NOW)
    assert book.raws({bytes(a.verify_key)}, NOW) == [raw_a]
    assert book.raws({bytes(a.verify_key), bytes(b.verify_key)}, NOW + MAX_AGE_MS + 1) == []


# ---- the wire -----------------------------------------------------------------------------


def test_addrs_round_trips_and_is_bounded() -> None:
    raw = encode_record(key(), CLASS, [("10.0.0.5", 4000)], NOW)
    assert decode(payload(encode(Addrs([raw, raw])))) == Addrs([raw, raw])
    too_many = pack({"t": "addrs", "records": [raw] * (MAX_ADDR_RECORDS + 1)})
    with pytest.raises(ProtocolError, match="addrs records"):
        decode(too_many)
    too_big = pack({"t": "addrs", "records": [b"x" * (MAX_RECORD + 1)]})
    with pytest.raises(ProtocolError, match="addrs record"):
        decode(too_big)


def test_hello_features_are_optional_both_ways() -> None:
    """An older peer's hello has no features (we send it no ``addrs``); ours names them in a
    key an older decoder ignores, so the protocol version stays the same."""
    old = {"t": "hello", "v": 2, "class": CLASS, "peer": b"p" * 32, "port": 1}
    assert decode(pack(old)) == Hello(2, CLASS, b"p" * 32, 1, ())
    new = Hello(2, CLASS, b"p" * 32, 1, (FEATURE_PEX,))
    body = unpack(payload(encode(new)), what="test")
    assert {k: v for k, v in body.items() if k != "x"} == old
    assert decode(payload(encode(new))) == new
    with pytest.raises(ProtocolError, match="hello features"):
        decode(pack({**old, "x": ["f"] * 9}))


# ---- the sync machine ---------------------------------------------------------------------


def test_the_machine_sends_offered_records_once_and_reports_received_ones() -> None:
    machine = SyncMachine(Gossip(own_id=b"m" * 32), started=0.0, cursor=0)
    raw = encode_record(key(), CLASS, [("10.0.0.5", 4000)], NOW)
    machine.offer_addresses([raw])
    sent = []
    for _ in range(4):
        action = machine.poll(0.0, 0)
        if isinstance(action, Send):
            sent.append(action.message)
    assert sent.count(Addrs([raw])) == 1
    assert machine.received(Addrs([raw]), 0.1) == [AddressesHeard([raw])]
    assert machine.received(Addrs([]), 0.2) == []
