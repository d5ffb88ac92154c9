"""Membership projectors (``roster``, ``join``, ``share``) and the roster they add up to.

The roster is a pure function of the instructor's ``roster`` events (the latest per peer
wins by the instructor's seq) and everyone's ``join`` events; it is computed when asked,
never stored, so every peer holding the same logs gets the same roster.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import attrs
from sqlalchemy import Connection, insert, select

from peer.errors import ValidationError
from peer.log import (
    TOKEN_HASH_SIZE,
    Event,
    decrypt_body,
    open_envelope,
    validate_join_inner,
)
from storage._reader import reader_of
from storage.projections._envelope import envelope
from storage.schema import joins, profiles, roster

State = Literal["member", "pending", "removed"]


def token_hash(token: bytes) -> bytes:
    """What the instructor's store keeps of an admission token, and an admit names."""
    return hashlib.blake2b(token, digest_size=TOKEN_HASH_SIZE, person=b"peerclass-invite").digest()


@attrs.frozen
class RosterEntry:
    peer_id: bytes
    name: str
    role: str  # "instructor" or "student"
    state: State
    since: int  # ts of the event that gave this state
    invite: bytes | None = None  # the token hash an admit used


@attrs.frozen
class Roster:
    """The class list. ``rostered`` is False for a class whose instructor never signed a
    roster event (stores made before rosters existed): there everyone counts, as before."""

    entries: dict[bytes, RosterEntry]
    rostered: bool

    def state(self, peer_id: bytes) -> State | None:
        """member, pending or removed; None for an identity the roster does not know."""
        entry = self.entries.get(peer_id)
        return None if entry is None else entry.state

    def counts(self, peer_id: bytes) -> bool:
        """Whether ``peer_id``'s verdicts count: a member (anyone, in an unrostered class)."""
        if not self.rostered:
            return self.state(peer_id) != "removed"
        return self.state(peer_id) == "member"

    def ignores(self, peer_id: bytes, ts: int) -> bool:
        """Whether an event of ``peer_id`` stamped ``ts`` came after its removal."""
        entry = self.entries.get(peer_id)
        return entry is not None and entry.state == "removed" and ts > entry.since

    def used_invites(self) -> set[bytes]:
        return {e.invite for e in self.entries.values() if e.invite is not None}


def load_roster(conn: Connection, instructor: bytes) -> Roster:
    entries: dict[bytes, RosterEntry] = {}
    query = select(roster).where(roster.c.author == instructor).order_by(roster.c.seq)
    rows = list(conn.execute(query))
    for row in rows:
        if row.action == "admit":
            entries[row.peer] = RosterEntry(
                row.peer, row.name, row.role, "member", row.ts, row.invite
            )
        else:
            earlier = entries.get(row.peer)
            name = earlier.name if earlier is not None else _profile_name(conn, row.peer)
            role = earlier.role if earlier is not None else "student"
            entries[row.peer] = RosterEntry(row.peer, name, role, "removed", row.ts)
    if instructor not in entries or entries[instructor].state != "member":
        # The instructor is always a member: a roster cannot remove its own authority.
        entries[instructor] = RosterEntry(
            instructor, _profile_name(conn, instructor), "instructor", "member", 0
        )
    for row in conn.execute(select(joins).order_by(joins.c.ts, joins.c.author, joins.c.seq)):
        if row.author not in entries:
            entries[row.author] = RosterEntry(row.author, row.name, "student", "pending", row.ts)
    return Roster(entries, rostered=bool(rows))


def _profile_name(conn: Connection, peer: bytes) -> str:
    name = conn.execute(select(profiles.c.name).where(profiles.c.author == peer)).scalar()
    return str(name) if name is not None else peer.hex()[:8]


# ---- projectors ---------------------------------------------------------------------------


def project_roster(conn: Connection, event: Event) -> None:
    body = event.body
    conn.execute(
        insert(roster).values(
            **envelope(event),
            action=body["action"],
            peer=body["peer"],
            name=body.get("name"),
            role=body.get("role"),
            invite=body.get("invite"),
        )
    )


def project_join(conn: Connection, event: Event) -> None:
    """Only the instructor can open the token; its store keeps the token's hash."""
    body = event.body
    found: bytes | None = None
    reader = reader_of(conn)
    if reader is not None and reader.is_instructor and "sealed" in body:
        key = open_envelope(reader.signing_key, body["sealed"])
        if key is not None:
            try:
                found = token_hash(validate_join_inner(decrypt_body(key, body["sealed"])))
            except ValidationError:
                found = None  # a join with a broken token simply stays pending
    conn.execute(
        insert(joins).values(
            **envelope(event),
            name=body["name"],
            token_hash=found,
        )
    )
