"""Who may announce: the instructors on the roster (the founding instructor, and everyone a
roster entry makes an instructor). TAs and students may not; their announcement flag is
ignored. Decided when querying, since the roster is other authors' events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.projections import load_roster

if TYPE_CHECKING:
    from storage._store import Store


def announcers(store: Store) -> frozenset[bytes]:
    """The identities whose announcements count now (none without a known instructor key:
    a store opened with no identity cannot tell who the instructor is)."""
    reader = store.reader
    if reader is None:
        return frozenset()
    with store.read() as conn:
        roster = load_roster(conn, reader.instructor)
    chosen = {
        peer
        for peer, entry in roster.entries.items()
        if entry.state == "member" and entry.role == "instructor"
    }
    return frozenset(chosen | {reader.instructor})


def may_announce(store: Store, peer_id: bytes) -> bool:
    """Whether ``peer_id`` holds the instructor's role on the roster now: only then does its
    announcement pin for everyone, so a student cannot shout over the class."""
    return peer_id in announcers(store)
