"""One root error type for everything peerclass refuses, so callers can catch it at the edge."""

from __future__ import annotations


class PeerclassError(Exception):
    """Root of every error peerclass raises on purpose; its message is shown to people."""


class UsageError(PeerclassError):
    """A command-line argument or a file given by the user is not acceptable."""


class ValidationError(PeerclassError):
    """An event, frame or datagram from outside broke a rule; it is refused, nothing stored."""


class ProtocolError(PeerclassError):
    """A connected peer broke the wire protocol; that one connection is closed."""


class HandshakeError(ProtocolError):
    """A connection could not prove it belongs to our class (or took too long to)."""


class StorageError(PeerclassError):
    """The data dir cannot be read or written as needed: nothing was changed, and the same
    command works again once the cause (named in the message) is fixed."""


class StorageFullError(StorageError):
    """The disk (or quota) holding the data dir is full; it passes when space is freed."""


class StorageReadOnlyError(StorageError):
    """The data dir cannot be written: a read-only file system or missing permission."""


class StorageMissingError(StorageError):
    """The data dir (or the store in it) does not exist or cannot be opened."""
