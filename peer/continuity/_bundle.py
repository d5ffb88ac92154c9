"""The backup file: one identity, its class, the content keys it holds (and, if asked, the
whole store's events), sealed with a key derived from a passphrase.

Layout: ``MAGIC | header length (4 bytes) | header | ciphertext | BLAKE2b-256 of all before``.
The header (msgpack) names the Argon2id limits and salt the key was derived with (PyNaCl's
``pwhash.argon2id``); the ciphertext is a ``SecretBox`` of the msgpack payload. The trailing
digest tells a damaged or truncated file (one flipped byte anywhere) apart from a wrong
passphrase (the digest holds but the box does not open), so each gets its own message.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import attrs
import msgpack
import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from peer.errors import UsageError

MAGIC = b"peerclass-backup\x00"
VERSION = 1
_DIGEST = 32
argon2id = nacl.pwhash.argon2id

#: Named costs of guessing the passphrase: (opslimit, memlimit). The default is
#: ``moderate`` (256 MiB); tests pass ``interactive`` as a parameter, never a weaker default.
KDF_LIMITS = {
    "interactive": (argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE),
    "moderate": (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE),
    "sensitive": (argon2id.OPSLIMIT_SENSITIVE, argon2id.MEMLIMIT_SENSITIVE),
}


@attrs.frozen
class Backup:
    """What a backup holds. ``klass`` is the class file's fields (hex strings, as on disk);
    ``content_keys`` (event id, key) and ``invites`` (token hash, name, created) are rows of
    the store's local tables; ``history`` is every stored event, in store order, or None."""

    seed: bytes = attrs.field(repr=False)
    klass: dict[str, str]
    content_keys: tuple[tuple[bytes, bytes], ...] = ()
    invites: tuple[tuple[bytes, str, int], ...] = ()
    history: tuple[bytes, ...] | None = None


def seal_backup(backup: Backup, passphrase: str, *, kdf: str = "moderate") -> bytes:
    """The bytes of a backup file holding ``backup``, sealed with ``passphrase``."""
    if not passphrase:
        raise UsageError("the passphrase is empty")
    opslimit, memlimit = KDF_LIMITS[kdf]
    salt = nacl.utils.random(argon2id.SALTBYTES)
    header = msgpack.packb([VERSION, opslimit, memlimit, salt], use_bin_type=True)
    payload = msgpack.packb(
        {
            "seed": backup.seed,
            "class": backup.klass,
            "content_keys": [list(k) for k in backup.content_keys],
            "invites": [list(i) for i in backup.invites],
            "history": None if backup.history is None else list(backup.history),
        },
        use_bin_type=True,
    )
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    sealed = bytes(box.encrypt(payload))
    body: bytes = MAGIC + struct.pack(">I", len(header)) + header + sealed
    return body + hashlib.blake2b(body, digest_size=_DIGEST).digest()


def open_backup(data: bytes, passphrase: str) -> Backup:
    """The backup in ``data``; a one-line :class:`UsageError` for a file that is not a
    backup, is damaged or truncated, or does not open with ``passphrase``."""
    if not data.startswith(MAGIC):
        raise UsageError("this file is not a peerclass backup (or its start is damaged)")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if len(data) < len(MAGIC) + 4 + _DIGEST or (
        hashlib.blake2b(body, digest_size=_DIGEST).digest() != digest
    ):
        raise UsageError("the backup file is damaged or truncated (its checksum does not match)")
    (length,) = struct.unpack(">I", body[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    try:
        version, opslimit, memlimit, salt = msgpack.unpackb(body[start : start + length])
    except (ValueError, TypeError, msgpack.UnpackException):
        raise UsageError("the backup file's header is damaged") from None
    if version != VERSION:
        raise UsageError(f"backup version {version!r} is not supported by this peerclass")
    _check_limits(opslimit, memlimit, salt)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    try:
        payload = box.decrypt(body[start + length :])
    except nacl.exceptions.CryptoError:
        raise UsageError("wrong passphrase for this backup") from None
    return _to_backup(msgpack.unpackb(payload, raw=False, strict_map_key=False))


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    key: bytes = argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode("utf-8"),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )
    return key


def _check_limits(opslimit: Any, memlimit: Any, salt: Any) -> None:
    """A header may not make us spend more than the ``sensitive`` preset (a file from
    anywhere could otherwise ask for all the memory there is)."""
    top_ops, top_mem = KDF_LIMITS["sensitive"]
    if not (
        isinstance(opslimit, int)
        and isinstance(memlimit, int)
        and argon2id.OPSLIMIT_MIN <= opslimit <= top_ops
        and argon2id.MEMLIMIT_MIN <= memlimit <= top_mem
        and isinstance(salt, bytes)
        and len(salt) == argon2id.SALTBYTES
    ):
        raise UsageError("the backup file's header is damaged (its key-derivation limits)")


def _to_backup(doc: Any) -> Backup:
    """The payload's fields, checked (it opened with the passphrase, so damage here means a
    backup made by something else)."""
    try:
        seed, klass = doc["seed"], doc["class"]
        keys = tuple((bytes(e), bytes(k)) for e, k in doc["content_keys"])
        invites = tuple((bytes(h), str(n), int(c)) for h, n, c in doc["invites"])
        history = None if doc["history"] is None else tuple(bytes(r) for r in doc["history"])
        fields = {k: str(klass[k]) for k in ("class_id", "name", "secret", "instructor")}
    except (KeyError, TypeError, ValueError):
        raise UsageError("the backup's content is malformed") from None
    if not isinstance(seed, bytes) or len(seed) != 32:
        raise UsageError("the backup's identity key is malformed")
    return Backup(seed, fields, keys, invites, history)
