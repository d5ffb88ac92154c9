"""Whose eyes a store reads with: the local identity, which opens sealed bodies sent to it.

Projections hold what this identity can read, so the key must be known when events are
projected. :meth:`storage.Store.open` takes a :class:`Reader` or loads it from the data dir's
identity files (the ones ``peerclass init`` writes); the reader then travels with every
connection the store hands out (:func:`reader_of`), so projectors need no extra argument.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import nacl.signing

#: The files ``peer.identity`` writes (kept in step by tests/storage/test_roster.py).
IDENTITY_FILE = "identity.key"
CLASS_FILE = "class.json"
_INFO_KEY = "peerclass_reader"


@attrs.frozen
class Reader:
    """The local identity's signing key and the class's instructor key."""

    signing_key: nacl.signing.SigningKey = attrs.field(repr=False)
    instructor: bytes

    @property
    def peer_id(self) -> bytes:
        """Whose sealed bodies these are: projections made for one identity must be remade when
        another opens the store."""
        return bytes(self.signing_key.verify_key)

    @property
    def is_instructor(self) -> bool:
        """Whether this identity is the class key itself (the founding instructor): the cheap check
        for code that needs no roster to know it."""
        return self.peer_id == self.instructor


def reader_from_files(data_dir: Path) -> Reader | None:
    """The reader of an initialised data dir, or None where there is no (whole) identity."""
    try:
        seed = (data_dir / IDENTITY_FILE).read_bytes()
        instructor = bytes.fromhex(json.loads((data_dir / CLASS_FILE).read_text())["instructor"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(seed) != 32 or len(instructor) != 32:
        return None
    return Reader(nacl.signing.SigningKey(seed), instructor)


def attach_reader(info: dict[Any, Any], reader: Reader | None) -> None:
    """Record ``reader`` on a pooled connection's info (the store's connect hook)."""
    info[_INFO_KEY] = reader


def reader_of(conn: Any) -> Reader | None:
    """The reader of the store ``conn`` came from (None: sealed bodies stay closed)."""
    reader = conn.info.get(_INFO_KEY)
    return reader if isinstance(reader, Reader) else None
