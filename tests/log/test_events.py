"""Events: signing and canonical encoding, and every structural refusal of decode_event."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peer.errors import ValidationError
from peer.log._events import (
    EVENT_VERSION,
    MAX_EVENT_SIZE,
    SIGNATURE_SIZE,
    decode_event,
    event_id,
    make_event,
)
from tests.fixtures_core import BASE_TS, bad_signature, chain, new_key, sign_fields

KEY = new_key()
AUTHOR = bytes(KEY.verify_key)
PREV = bytes(range(32))
CHAT = {"room": "general", "text": "hello"}


def fields(**overrides: Any) -> list[Any]:
    """The seven event fields of a valid seq-2 chat event, with some replaced."""
    base = {
        "version": EVENT_VERSION,
        "author": AUTHOR,
        "seq": 2,
        "prev": PREV,
        "ts": BASE_TS,
        "kind": "chat",
        "body": CHAT,
    }
    base.update(overrides)
    return list(base.values())


def refusal(raw: Any) -> str:
    with pytest.raises(ValidationError) as info:
        decode_event(raw)
    return str(info.value)


# ---- round trips ------------------------------------------------------------------------


def test_make_then_decode_round_trips_every_field() -> None:
    first, second = chain(KEY, 2)
    decoded = decode_event(second.raw)
    assert decoded == second
    assert (decoded.author, decoded.seq, decoded.prev, decoded.kind) == (
        AUTHOR,
        2,
        first.id,
        "chat",
    )
    assert decoded.body == {"room": "general", "text": "message 2"}
    assert decoded.raw == second.raw
    assert decoded.verify_signature()


def test_profile_event_round_trips() -> None:
    ev = make_event(
        KEY, seq=1, prev=None, ts=BASE_TS, kind="profile", body={"name": "Ada", "role": "student"}
    )
    assert decode_event(ev.raw) == ev
    assert ev.verify_signature()


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=300
    ).filter(lambda t: t.strip() != ""),
    room=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    reply=st.one_of(st.none(), st.binary(min_size=32, max_size=32)),
    seq=st.integers(min_value=1, max_value=2**40),
    ts=st.integers(min_value=1, max_value=2**62),
)
def test_round_trip_property(text: str, room: str, reply: bytes | None, seq: int, ts: int) -> None:
    body: dict[str, Any] = {"room": room, "text": text}
    if reply is not None:
        body["reply_to"] = reply
    ev = make_event(KEY, seq=seq, prev=None if seq == 1 else PREV, ts=ts, kind="chat", body=body)
    decoded = decode_event(ev.raw)
    assert decoded == ev
    assert decoded.body == body
    assert decoded.verify_signature()
    # Encoding is a function of content: signing again gives the same signed bytes.
    again = make_event(
        KEY, seq=seq, prev=ev.prev, ts=ts, kind="chat", body=dict(reversed(body.items()))
    )
    assert again.raw == ev.raw


def test_body_keys_are_sorted_whatever_order_they_are_given_in() -> None:
    a = make_event(KEY, seq=1, prev=None, ts=BASE_TS, kind="chat", body={"text": "x", "room": "r"})
    b = make_event(KEY, seq=1, prev=None, ts=BASE_TS, kind="chat", body={"room": "r", "text": "x"})
    assert a.raw == b.raw
    assert list(a.body) == ["room", "text"]


def test_event_id_is_blake2b_256_of_the_raw_bytes_signature_included() -> None:
    ev = chain(KEY, 1)[0]
    assert ev.id == hashlib.blake2b(ev.raw, digest_size=32).digest()
    assert ev.id == event_id(ev.raw)
    assert len(ev.id) == 32
    assert ev.signature == ev.raw[-SIGNATURE_SIZE:]
    assert ev.signed_part + ev.signature == ev.raw
    # The next event's prev is this id.
    nxt = chain(KEY, 1, start=ev)[0]
    assert nxt.prev == ev.id


@pytest.mark.parametrize("where", ["first", "middle", "signature", "last"])
def test_a_tampered_byte_breaks_the_signature(where: str) -> None:
    ev = chain(KEY, 1)[0]
    index = {"first": 0, "middle": len(ev.raw) // 2, "signature": len(ev.raw) - 40, "last": -1}[
        where
    ]
    raw = bytearray(ev.raw)
    raw[index] ^= 0x04
    tampered = bytes(raw)
    try:
        decoded = decode_event(tampered)
    except ValidationError:
        return  # the structure broke first: refused anyway
    assert not decoded.verify_signature()
    assert decoded.id != ev.id


def test_signature_by_another_key_does_not_verify() -> None:
    ev = chain(KEY, 1)[0]
    forged = ev.signed_part + new_key().sign(ev.signed_part).signature
    assert not decode_event(forged).verify_signature()
    assert not decode_event(bad_signature(ev.raw)).verify_signature()


# ---- canonical encoding -----------------------------------------------------------------


def test_unsorted_map_keys_are_refused_even_when_validly_signed() -> None:
    body = {"text": "hello", "room": "general"}  # not sorted
    raw = sign_fields(KEY, fields(body=body), canonical=False)
    assert msgpack.unpackb(raw[:-SIGNATURE_SIZE])[6] == body
    assert "canonically encoded" in refusal(raw)


def test_non_minimal_integer_encoding_is_refused() -> None:
    # seq 2 encoded as a uint64 rather than a fixint: same value, different bytes.
    parts = [msgpack.packb(f, use_bin_type=True) for f in fields()]
    parts[2] = b"\xcf" + (2).to_bytes(8, "big")
    signed = b"\x97" + b"".join(parts)
    assert msgpack.unpackb(signed) == msgpack.unpackb(sign_fields(KEY, fields())[:-SIGNATURE_SIZE])
    raw = signed + KEY.sign(signed).signature
    assert "canonically encoded" in refusal(raw)


# ---- structural refusals ----------------------------------------------------------------


def test_oversized_event_is_refused_naming_the_limit() -> None:
    message = refusal(b"\x00" * (MAX_EVENT_SIZE + 1))
    assert str(MAX_EVENT_SIZE) in message and "limit" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "too short"),
        (b"\x01" * SIGNATURE_SIZE, "too short"),
    ],
)
def test_too_short_events(raw: bytes, expected: str) -> None:
    assert expected in refusal(raw)


def test_truncated_event_is_refused_as_malformed() -> None:
    ev = chain(KEY, 1)[0]
    for cut in range(1, len(ev.raw)):
        message = refusal(ev.raw[:-cut])
        assert message.startswith("malformed event") or "too short" in message, (cut, message)


def test_truncated_encoding_is_malformed() -> None:
    signed = sign_fields(KEY, fields())[:-SIGNATURE_SIZE]
    raw = signed[:-5] + b"\x00" * SIGNATURE_SIZE
    assert "malformed event" in refusal(raw)


def test_not_bytes() -> None:
    assert "not a byte string" in refusal("text")


def test_garbage_and_trailing_data() -> None:
    assert "malformed event" in refusal(b"\xc1" + b"\x00" * SIGNATURE_SIZE)
    signed = sign_fields(KEY, fields())[:-SIGNATURE_SIZE]
    assert "malformed event" in refusal(signed + b"\x00" + b"\x00" * SIGNATURE_SIZE)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1}, "not a list of 7 fields"),
        ([1, 2, 3], "not a list of 7 fields"),
        ([*fields(), "extra"], "not a list of 7 fields"),
    ],
)
def test_wrong_shape(value: Any, expected: str) -> None:
    assert expected in refusal(sign_fields(KEY, value))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"version": 2}, "event version 2 is not supported"),
        ({"version": "1"}, "version '1' is not supported"),
        ({"author": AUTHOR[:31]}, "author is not a 32-byte key"),
        ({"author": AUTHOR.hex()}, "author is not a 32-byte key"),
        ({"seq": 0}, "seq 0 is not a positive integer"),
        ({"seq": -3}, "seq -3 is not a positive integer"),
        ({"seq": 2**53}, "is not a positive integer"),
        ({"seq": True}, "seq True is not a positive integer"),
        ({"seq": 1, "prev": PREV}, "first event of a log has a prev"),
        ({"prev": None}, "prev is not a 32-byte id"),
        ({"prev": PREV[:16]}, "prev is not a 32-byte id"),
        ({"ts": 0}, "ts 0 is not a positive 64-bit integer"),
        ({"ts": 2**63}, "is not a positive 64-bit integer"),
        ({"ts": 1.5}, "ts 1.5 is not"),
        ({"kind": 7}, "kind is not a string"),
        ({"kind": "poll"}, "unknown event kind 'poll'"),
        ({"body": ["room", "text"]}, "body is not a map"),
    ],
)
def test_field_refusals_say_what_is_wrong(overrides: dict[str, Any], expected: str) -> None:
    assert expected in refusal(sign_fields(KEY, fields(**overrides)))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Ada"}, "profile body lacks role"),
        ({"role": "student"}, "profile body lacks name"),
        ({"name": "Ada", "role": "admin"}, "profile role 'admin' is not one of"),
        ({"name": "   ", "role": "student"}, "profile name is empty"),
        ({"name": "a\nb", "role": "student"}, "profile name must be one line"),
        ({"name": "x" * 65, "role": "student"}, "profile name is 65 characters; the limit is 64"),
        ({"name": 5, "role": "student"}, "profile name is not text"),
        ({"name": "Ada", "role": "student", "age": 9}, "profile body has unknown fields age"),
    ],
)
def test_profile_body_schema(body: dict[str, Any], expected: str) -> None:
    raw = sign_fields(KEY, fields(seq=1, prev=None, kind="profile", body=body))
    assert expected in refusal(raw)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"room": "general", "text": ""}, "chat text is empty"),
        ({"room": "general", "text": " \n\t"}, "chat text is empty"),
        ({"room": "general"}, "chat (body lacks text|text is not text)"),
        ({"text": "hi"}, "chat body lacks room"),
        ({"room": "two words", "text": "hi"}, "room 'two words' is not valid"),
        ({"room": "", "text": "hi"}, "room '' is not valid"),
        ({"room": "-lead", "text": "hi"}, "room '-lead' is not valid"),
        ({"room": "r" * 65, "text": "hi"}, "is not valid"),
        ({"room": 3, "text": "hi"}, "chat room is not text"),
        ({"room": "general", "text": "hi", "color": "red"}, "chat body has unknown fields color"),
        ({"room": "general", "text": "a\x00b"}, "a control character (U+0000 at character 2"),
        ({"room": "general", "text": "x" * 16_001}, "chat text is 16001 characters"),
        ({"room": "general", "text": "hi", "reply_to": b"short"}, "chat reply_to is not a 32"),
    ],
)
def test_chat_body_schema(body: dict[str, Any], expected: str) -> None:
    message = refusal(sign_fields(KEY, fields(body=body)))
    assert expected in message or re.search(expected, message), message


def test_make_event_validates_the_body_before_signing() -> None:
    with pytest.raises(ValidationError, match="chat text is empty"):
        make_event(KEY, seq=1, prev=None, ts=BASE_TS, kind="chat", body={"room": "r", "text": ""})
    with pytest.raises(ValidationError, match="unknown event kind"):
        make_event(KEY, seq=1, prev=None, ts=BASE_TS, kind="nope", body={})


def test_multiline_chat_text_is_allowed() -> None:
    raw = sign_fields(KEY, fields(body={"room": "general", "text": "line 1\nline 2\ttab"}))
    assert decode_event(raw).body["text"] == "line 1\nline 2\ttab"
