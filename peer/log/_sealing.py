"""Bodies sealed to named recipients (SSB private-box / age style, PyNaCl only).

A fresh 32-byte content key encrypts the inner body with ``SecretBox``; the content key is
sealed for each recipient with ``SealedBox`` to the recipient's X25519 key (converted from its
Ed25519 identity key, as private messages do). The envelope is
``{"nonce", "ct", "keys": [box, ...]}``: a reader tries each box, so the envelope does not say
who its recipients are. The inner body is padded to a size bucket, so the ciphertext length
tells little about the text. A ``share`` event later seals an existing content key to one more
recipient (peer review) without touching the sealed event.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.signing
import nacl.utils

from peer.errors import ValidationError
from peer.log._codec import pack, unpack

KEY_SIZE = nacl.secret.SecretBox.KEY_SIZE  # 32
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE  # 24
#: A content key sealed to one recipient: ephemeral public key + MAC + the 32-byte key.
KEY_BOX_SIZE = 32 + 16 + KEY_SIZE
MAX_RECIPIENTS = 16
#: Sealed bodies hold at most a 64 KiB solution plus 20 self-check details of 2,000 characters
#: (up to 4 bytes each): 240 KiB bounds any of them, padding included, inside a 256 KiB event.
MAX_SEALED_CT = 240 * 1024
_MAC_SIZE = nacl.secret.SecretBox.MACBYTES
_MIN_BUCKET = 256
_LENGTH = struct.Struct(">I")


def padded_size(length: int) -> int:
    """The bucket a plaintext of ``length`` bytes is padded to: the next power of two from 256,
    and above 16 KiB the next multiple of 16 KiB (at most 1/2 and then 1/4... overhead)."""
    if length <= 16 * 1024:
        size = _MIN_BUCKET
        while size < length:
            size *= 2
        return size
    return -(-length // (16 * 1024)) * (16 * 1024)


def pad(data: bytes, cap: int | None = None) -> bytes:
    """``data`` with its length in front, filled with zeros to its bucket (but not past
    ``cap`` bytes, where a schema bounds the size)."""
    framed = _LENGTH.pack(len(data)) + data
    size = padded_size(len(framed))
    if cap is not None:
        size = max(len(framed), min(size, cap))
    return framed + bytes(size - len(framed))


def unpad(data: bytes) -> bytes:
    if len(data) < _LENGTH.size:
        raise ValidationError("sealed body is shorter than its length prefix")
    (length,) = _LENGTH.unpack_from(data)
    if length > len(data) - _LENGTH.size:
        raise ValidationError("sealed body's length prefix is beyond its end")
    return data[_LENGTH.size : _LENGTH.size + length]


def x25519_public(peer_id: bytes) -> nacl.public.PublicKey:
    """The X25519 key of an Ed25519 identity (a clear error for a key that is not one)."""
    try:
        return nacl.signing.VerifyKey(peer_id).to_curve25519_public_key()
    except (ValueError, TypeError, nacl.exceptions.CryptoError):
        raise ValidationError("recipient key is not a valid Ed25519 key") from None


def seal_key(content_key: bytes, recipient: bytes) -> bytes:
    """``content_key`` sealed so that only ``recipient`` (a peer id) can open it."""
    return bytes(nacl.public.SealedBox(x25519_public(recipient)).encrypt(content_key))


def open_key(reader: nacl.signing.SigningKey, box: bytes) -> bytes | None:
    """The content key in ``box`` if it was sealed to ``reader``; None otherwise."""
    try:
        key = nacl.public.SealedBox(reader.to_curve25519_private_key()).decrypt(box)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        return None
    return bytes(key) if len(key) == KEY_SIZE else None


def seal_body(inner: dict[str, Any], recipients: Iterable[bytes]) -> tuple[dict[str, Any], bytes]:
    """An envelope holding ``inner`` for ``recipients`` (duplicates dropped), and its key."""
    unique = list(dict.fromkeys(recipients))
    if not 1 <= len(unique) <= MAX_RECIPIENTS:
        raise ValidationError(f"a sealed body needs 1 to {MAX_RECIPIENTS} recipients")
    content_key = nacl.utils.random(KEY_SIZE)
    nonce = nacl.utils.random(NONCE_SIZE)
    padded = pad(pack(inner), cap=MAX_SEALED_CT - _MAC_SIZE)
    ct = nacl.secret.SecretBox(content_key).encrypt(padded, nonce).ciphertext
    envelope = {"nonce": nonce, "ct": bytes(ct), "keys": [seal_key(content_key, r) for r in unique]}
    return envelope, content_key


def open_envelope(reader: nacl.signing.SigningKey, envelope: dict[str, Any]) -> bytes | None:
    """The content key of ``envelope`` if one of its boxes is for ``reader``."""
    for box in envelope["keys"]:
        key = open_key(reader, box)
        if key is not None:
            return key
    return None


def decrypt_body(content_key: bytes, envelope: dict[str, Any]) -> dict[str, Any]:
    """The inner body; ValidationError if the key does not open it or it is not a map."""
    try:
        plain = nacl.secret.SecretBox(content_key).decrypt(envelope["ct"], envelope["nonce"])
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise ValidationError("sealed body does not open with its content key") from None
    inner = unpack(unpad(bytes(plain)), what="sealed body")
    if not isinstance(inner, dict):
        raise ValidationError("sealed body is not a map")
    return inner


def check_envelope(kind: str, value: Any) -> None:
    """The visible shape of an envelope: what every peer checks before relaying it."""
    if not isinstance(value, dict) or set(value) != {"nonce", "ct", "keys"}:
        raise ValidationError(f"{kind} sealed is not a map of nonce, ct and keys")
    nonce, ct, keys = value["nonce"], value["ct"], value["keys"]
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_SIZE:
        raise ValidationError(f"{kind} sealed nonce is not {NONCE_SIZE} bytes")
    if not isinstance(ct, bytes) or not 16 < len(ct) <= MAX_SEALED_CT:
        raise ValidationError(f"{kind} sealed ct is not a ciphertext of a valid size")
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_RECIPIENTS:
        raise ValidationError(f"{kind} sealed keys is not a list of 1 to {MAX_RECIPIENTS}")
    for box in keys:
        check_key_box(kind, box)


def check_key_box(kind: str, box: Any) -> None:
    if not isinstance(box, bytes) or len(box) != KEY_BOX_SIZE:
        raise ValidationError(f"{kind} key box is not {KEY_BOX_SIZE} bytes")
