"""Private messages: chat text sealed to one recipient with a NaCl box.

The box key is agreed from the Ed25519 identity keys converted to X25519, so no extra keys
are exchanged: the sender and the recipient (and no one else) can open it. The event itself is
signed and relayed like any other, so private messages reach a recipient who is offline now.
The text is padded to a size bucket before it is boxed, so the box's length no longer tells
the text's exact length (only its bucket: 256 bytes, 512, 1 KiB, ...).
"""

from __future__ import annotations

import nacl.exceptions
import nacl.public
import nacl.signing

from peer.errors import ValidationError
from peer.log._checks import CONTROL_RE, MAX_CHAT_TEXT, MAX_SEALED
from peer.log._sealing import pad, unpad

#: Marks a padded plaintext; older (unpadded) messages never start with a NUL, which
#: chat text cannot contain.
_PADDED = b"\x00"


#: Padding never takes a box past the schema's limit (nonce, tag and the marker byte).
_MAX_PADDED = MAX_SEALED - 40 - len(_PADDED)


def _box(own: nacl.signing.SigningKey, other: bytes) -> nacl.public.Box:
    try:
        their = nacl.signing.VerifyKey(other).to_curve25519_public_key()
    except (ValueError, nacl.exceptions.CryptoError):
        raise ValidationError("recipient key is not a valid Ed25519 key") from None
    return nacl.public.Box(own.to_curve25519_private_key(), their)


def seal(sender: nacl.signing.SigningKey, recipient: bytes, text: str) -> bytes:
    """Encrypt ``text`` for ``recipient`` (a 32-byte peer id); the sender can read it too."""
    return bytes(_box(sender, recipient).encrypt(_PADDED + pad(text.encode(), _MAX_PADDED)))


def unseal(
    reader: nacl.signing.SigningKey, author: bytes, recipient: bytes, sealed: bytes
) -> str | None:
    """The text, if ``reader`` is the author or the recipient and the box is intact."""
    me = bytes(reader.verify_key)
    if me == author:
        other = recipient
    elif me == recipient:
        other = author
    else:
        return None
    try:
        plain = bytes(_box(reader, other).decrypt(sealed))
        if plain.startswith(_PADDED):
            plain = unpad(plain[1:])
        text = plain.decode()
    except (nacl.exceptions.CryptoError, ValidationError, UnicodeDecodeError):
        return None
    # The sealed text skipped the checks public text gets on receipt: apply them now, so a
    # private message cannot smuggle terminal escapes or an oversized text to the reader.
    if len(text) > MAX_CHAT_TEXT or CONTROL_RE.search(text):
        return None
    return text
