"""Sealed bodies: only the named recipients read them; everyone can validate and relay them."""

from __future__ import annotations

import nacl.signing
import pytest

from peer.errors import ValidationError
from peer.log import (
    decode_event,
    decrypt_body,
    make_event,
    open_envelope,
    open_key,
    seal,
    seal_body,
    seal_key,
    unseal,
    validate_body,
)
from peer.log._sealing import KEY_BOX_SIZE, padded_size


def key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


def pid(k: nacl.signing.SigningKey) -> bytes:
    return bytes(k.verify_key)


INNER = {"language": "python", "solution": "print(1)\n", "checks": [{"passed": True, "detail": ""}]}


def test_recipients_open_the_body_and_nobody_else_does() -> None:
    alice, teacher, mallory = key(), key(), key()
    envelope, content_key = seal_body(INNER, [pid(alice), pid(teacher)])
    for reader in (alice, teacher):
        opened = open_envelope(reader, envelope)
        assert opened == content_key
        assert decrypt_body(opened, envelope) == INNER
    assert open_envelope(mallory, envelope) is None
    # The envelope names no recipient: one key box each, and nothing else in the clear.
    assert len(envelope["keys"]) == 2 and all(len(b) == KEY_BOX_SIZE for b in envelope["keys"])
    assert b"print(1)" not in envelope["ct"] and b"python" not in envelope["ct"]


def test_a_share_gives_one_more_reader_the_same_content_key() -> None:
    alice, bob = key(), key()
    envelope, content_key = seal_body(INNER, [pid(alice)])
    assert open_envelope(bob, envelope) is None
    box = seal_key(content_key, pid(bob))
    assert open_key(bob, box) == content_key and open_key(alice, box) is None
    assert decrypt_body(content_key, envelope) == INNER


def test_a_tampered_ciphertext_does_not_open() -> None:
    alice = key()
    envelope, content_key = seal_body(INNER, [pid(alice)])
    broken = {**envelope, "ct": bytes([envelope["ct"][0] ^ 1]) + envelope["ct"][1:]}
    with pytest.raises(ValidationError, match="does not open"):
        decrypt_body(content_key, broken)


def test_sealed_submission_and_feedback_are_signed_and_validated_like_any_event() -> None:
    alice, teacher = key(), key()
    envelope, _ = seal_body(INNER, [pid(alice), pid(teacher)])
    body = {"problem": bytes(32), "attempt": 1, "sealed": envelope}
    event = make_event(alice, seq=1, prev=None, ts=10, kind="submission", body=body)
    assert decode_event(event.raw) == event  # any peer validates and relays it
    fb, _ = seal_body({"verdict": "accept", "comment": "ok", "score": 90}, [pid(teacher)])
    validate_body("feedback", {"submission": event.id, "sealed": fb})


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("submission", {"problem": bytes(32), "attempt": 1, "sealed": {"nonce": b"x"}}, "nonce"),
        (
            "submission",
            {"problem": bytes(32), "attempt": 1, "language": "py", "sealed": {}},
            "unknown",
        ),
        ("feedback", {"submission": bytes(32), "sealed": "text"}, "sealed"),
        ("share", {"event": bytes(32), "to": bytes(32), "key": b"short"}, "key box"),
        ("roster", {"action": "promote", "peer": bytes(32)}, "roster action"),
        (
            "roster",
            {"action": "admit", "peer": bytes(32), "name": "a\nb", "role": "student"},
            "line",
        ),
        ("join", {"name": "Bo", "sealed": {"nonce": bytes(24), "ct": b"", "keys": []}}, "ct"),
    ],
)
def test_malformed_membership_and_sealed_bodies_are_refused(
    kind: str, body: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_body(kind, body)


def test_private_messages_are_padded_to_buckets() -> None:
    alice, bob = key(), key()
    short = seal(alice, pid(bob), "hi")
    longer = seal(alice, pid(bob), "a much longer message, but still under the first bucket")
    assert len(short) == len(longer)  # the box no longer tells the text's length
    much_longer = seal(alice, pid(bob), "x" * 300)
    assert len(much_longer) > len(short)
    assert unseal(bob, pid(alice), pid(bob), much_longer) == "x" * 300
    assert [padded_size(n) for n in (1, 256, 257, 20_000)] == [256, 256, 512, 32_768]


def test_old_unpadded_private_messages_still_open() -> None:
    import nacl.public

    alice, bob = key(), key()
    box = nacl.public.Box(
        alice.to_curve25519_private_key(), bob.verify_key.to_curve25519_public_key()
    )
    old = bytes(box.encrypt(b"from before padding"))
    assert unseal(bob, pid(alice), pid(bob), old) == "from before padding"


def test_the_largest_valid_submission_still_seals_into_a_valid_event() -> None:
    alice, teacher = key(), key()
    wide = "\U0001f600"  # 4 bytes in UTF-8
    inner = {
        "language": "python",
        "solution": wide * (64 * 1024 // 4),
        "checks": [{"passed": False, "detail": wide * 2000}] * 20,
    }
    envelope, _ = seal_body(inner, [pid(alice), pid(teacher)])
    body = {"problem": bytes(32), "attempt": 1, "sealed": envelope}
    event = make_event(alice, seq=1, prev=None, ts=10, kind="submission", body=body)
    assert decode_event(event.raw) == event
