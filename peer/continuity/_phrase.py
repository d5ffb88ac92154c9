"""The recovery phrase: 24 words of BIP-39's English list that encode 256 random bits plus an
8-bit checksum. The identity's Ed25519 seed is derived from those bits alone, so the phrase
written on paper is enough to make the same key again on a new machine."""

from __future__ import annotations

import hashlib
import secrets

from mnemonic import Mnemonic

from peer.errors import UsageError

WORDS = 24
_ENTROPY = 32
_PERSON = b"peerclass-id-v1"
_english = Mnemonic("english")


def new_phrase() -> tuple[str, bytes]:
    """A fresh phrase and the identity seed it stands for."""
    entropy = secrets.token_bytes(_ENTROPY)
    return _english.to_mnemonic(entropy), _seed(entropy)


def seed_from_phrase(phrase: str) -> bytes:
    """The identity seed of ``phrase``; a one-line error for a wrong count, an unknown word
    or a checksum that does not match (a word mistyped or two swapped)."""
    words = phrase.lower().split()
    if len(words) != WORDS:
        raise UsageError(f"a recovery phrase has {WORDS} words; this one has {len(words)}")
    known = set(_english.wordlist)
    for number, word in enumerate(words, 1):
        if word not in known:
            raise UsageError(f"word {number} ({word!r}) is not in the recovery word list")
    text = " ".join(words)
    if not _english.check(text):
        raise UsageError(
            "the recovery phrase's checksum does not match: a word is wrong or two are swapped"
        )
    return _seed(bytes(_english.to_entropy(text)))


def _seed(entropy: bytes) -> bytes:
    """The Ed25519 seed: a keyed hash of the phrase's bits (its own domain, so the same bits
    used elsewhere never give this key)."""
    return hashlib.blake2b(entropy, digest_size=32, person=_PERSON).digest()
