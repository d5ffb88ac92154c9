"""Membership projectors (``roster``, ``join``, ``share``) and the roster they add up to.

The roster is a pure function of the instructors' ``roster`` events and everyone's ``join``
events; it is computed when asked, never stored, so every peer holding the same logs gets the
same roster. Roles (DESIGN §10): the founding instructor (the class key) always holds
authority; an identity it (or another instructor, transitively) admits as ``instructor`` signs
roster entries with the same authority, up to its removal. On one peer, an entry replaces the
entries it follows (the same author's earlier ones, and the one it names as ``after``); of
entries that follow none of each other, the founder's wins, then the lower key.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

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


#: Roles whose holders are "the instructor" to sealing (DESIGN §10).
STAFF_ROLES = ("instructor", "ta")
_FOREVER = 1 << 62


@attrs.frozen
class RosterEntry:
    peer_id: bytes
    name: str
    role: str  # "instructor", "ta" or "student"
    state: State
    since: int  # ts of the event that gave this state
    invite: bytes | None = None  # the token hash an admit used
    #: The roster event that gave this entry (None for the implicit founder and pending).
    event: bytes | None = None
    admitted: int = 0  # ts of the admit that gave ``role``
    #: A removal's pin (issue 18): the removed author's events past this seq are ignored
    #: (None for removals signed before pins, which ``ignores`` judges by ``since``).
    until: int | None = None
    reason: str | None = None  # why, in the remover's words (shown to the removed peer)


@attrs.frozen
class Roster:
    """The class list. ``rostered`` is False for a class whose instructor never signed a
    roster event (stores made before rosters existed): there everyone counts, as before."""

    entries: dict[bytes, RosterEntry]
    rostered: bool
    founder: bytes = b""  # the class key: always an instructor
    #: Every token hash any admit by an instructor ever named: removal never frees one.
    used: frozenset[bytes] = frozenset()

    def role(self, peer_id: bytes) -> str | None:
        """The role of a member now (None for anyone else); the founder is an instructor."""
        if peer_id == self.founder:
            return "instructor"
        entry = self.entries.get(peer_id)
        return entry.role if entry is not None and entry.state == "member" else None

    def holds(self, peer_id: bytes, roles: tuple[str, ...], ts: int | None = None) -> bool:
        """Whether ``peer_id`` holds one of ``roles``: now, or at its event stamped ``ts``
        (between the admit that gave the role and any removal)."""
        if peer_id == self.founder:
            return "instructor" in roles
        entry = self.entries.get(peer_id)
        if entry is None or entry.role not in roles or entry.state == "pending":
            return False
        if ts is None:
            return entry.state == "member"
        return entry.admitted <= ts and (entry.state == "member" or ts <= entry.since)

    def is_instructor(self, peer_id: bytes, ts: int | None = None) -> bool:
        return self.holds(peer_id, ("instructor",), ts)

    def staff(self) -> list[bytes]:
        """Every instructor and TA on the roster now: who is sealed "to the instructor"."""
        found = [
            p for p, e in self.entries.items() if e.state == "member" and e.role in STAFF_ROLES
        ]
        return sorted({self.founder, *found} - {b""})

    def state(self, peer_id: bytes) -> State | None:
        """member, pending or removed; None for an identity the roster does not know."""
        entry = self.entries.get(peer_id)
        return None if entry is None else entry.state

    def counts(self, peer_id: bytes) -> bool:
        """Whether ``peer_id``'s verdicts count: a member (anyone, in an unrostered class)."""
        if not self.rostered:
            return self.state(peer_id) != "removed"
        return self.state(peer_id) == "member"

    def ignores(self, peer_id: bytes, ts: int, seq: int | None = None) -> bool:
        """Whether an event of ``peer_id`` (stamped ``ts``, at ``seq``) came after its
        removal: past the removal's pin, or (an old removal, without a pin) stamped later."""
        entry = self.entries.get(peer_id)
        if entry is None or entry.state != "removed":
            return False
        if entry.until is not None and seq is not None:
            return seq > entry.until
        return ts > entry.since

    def pins(self) -> dict[bytes, int]:
        """Removed author -> the last seq of theirs that counts (removals with a pin only)."""
        return {
            e.peer_id: e.until
            for e in self.entries.values()
            if e.state == "removed" and e.until is not None
        }

    def used_invites(self) -> set[bytes]:
        """Token hashes that never admit again: named by any admit ever signed."""
        return set(self.used) | {e.invite for e in self.entries.values() if e.invite is not None}


def load_roster(conn: Connection, instructor: bytes) -> Roster:
    """The roster as ``instructor`` (the founder) and the instructors it admitted signed it."""
    rows = list(conn.execute(select(roster).order_by(roster.c.ts, roster.c.author, roster.c.seq)))
    entries = _resolve(conn, rows, instructor)
    if instructor not in entries or entries[instructor].state != "member":
        # The instructor is always a member: a roster cannot remove its own authority.
        entries[instructor] = RosterEntry(
            instructor, _profile_name(conn, instructor), "instructor", "member", 0
        )
    for row in conn.execute(select(joins).order_by(joins.c.ts, joins.c.author, joins.c.seq)):
        if row.author not in entries:
            entries[row.author] = RosterEntry(row.author, row.name, "student", "pending", row.ts)
    rostered = any(row.author == instructor for row in rows)
    authorities = {instructor} | {e.peer_id for e in entries.values() if e.role == "instructor"}
    used = frozenset(
        r.invite
        for r in rows
        if r.action == "admit" and r.invite is not None and r.author in authorities
    )
    return Roster(entries, rostered=rostered, founder=instructor, used=used)


def _resolve(conn: Connection, rows: list[Any], founder: bytes) -> dict[bytes, RosterEntry]:
    """Entries from the rows of those with authority, grown from the founder: each pass
    counts the entries of the instructors the previous pass found (a removed instructor's up
    to its removal). Bounded: every peer stops at the same pass on the same rows."""
    limits = {founder: _FOREVER}
    entries: dict[bytes, RosterEntry] = {}
    for _ in range(2 + sum(1 for r in rows if r.role == "instructor")):
        entries = _winners(conn, [r for r in rows if r.ts <= limits.get(r.author, -1)], founder)
        found = {founder: _FOREVER}
        for e in entries.values():
            if e.role == "instructor" and e.peer_id != founder:
                found[e.peer_id] = _FOREVER if e.state == "member" else e.since
        if found == limits:
            break
        limits = found
    return entries


def _winners(conn: Connection, rows: list[Any], founder: bytes) -> dict[bytes, RosterEntry]:
    """Per peer, the entry no other follows (the founder's, then the lower key, among
    concurrent ones), with the name and role of the latest admit where it is a removal."""
    by_peer: dict[bytes, list[Any]] = {}
    for row in rows:
        by_peer.setdefault(row.peer, []).append(row)
    entries = {}
    for peer, mine in by_peer.items():
        followed = {r.after for r in mine if r.after is not None}
        latest: dict[bytes, Any] = {}  # author -> its last entry on this peer
        for r in mine:
            if r.author not in latest or r.seq > latest[r.author].seq:
                latest[r.author] = r
        heads = [r for r in latest.values() if r.event_id not in followed]
        win = min(heads or list(latest.values()), key=lambda r: (r.author != founder, r.author))
        admits = [r for r in mine if r.action == "admit" and r.ts <= win.ts]
        last = win if win.action == "admit" else (admits[-1] if admits else None)
        if last is None:
            name, role, admitted = _profile_name(conn, peer), "student", 0
        else:
            name, role, admitted = last.name, last.role, _role_since(mine, last)
        state: State = "member" if win.action == "admit" else "removed"
        invite = win.invite if win.action == "admit" else None
        entries[peer] = RosterEntry(
            peer, name, role, state, win.ts, invite, win.event_id, admitted,
            until=win.until_seq if state == "removed" else None,
            reason=win.reason if state == "removed" else None,
        )  # fmt: skip
    return entries


def _role_since(mine: list[Any], admit: Any) -> int:
    """When ``admit``'s role began: the earliest of the admits with that role that lead up
    to it with no removal or other role between (a renaming keeps the role's start)."""
    since = int(admit.ts)
    for r in reversed([r for r in mine if r.ts < admit.ts]):
        if r.action != "admit" or r.role != admit.role:
            break
        since = int(r.ts)
    return since


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
            after=body.get("after"),
            replaces=body.get("replaces"),
            until_seq=(body.get("until") or {}).get("seq"),
            reason=body.get("reason"),
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
