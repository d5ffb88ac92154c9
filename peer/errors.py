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
