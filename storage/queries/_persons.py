"""One person, however many keys (issue 22): ``admit NEW --replaces OLD`` links a student's
new identity to the one whose key was lost. Reports, progress and the gradebook name a person
by the newest identity of that chain and count the histories of all of them; every such view
maps identities through :func:`persons`, never by its own rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs
from sqlalchemy import Connection, or_, select

from storage.projections import Roster, known_key, load_roster
from storage.schema import feedback, roster, shares, submissions

if TYPE_CHECKING:
    from storage._store import Store


@attrs.frozen
class Persons:
    """``links``: replaced identity -> the identity that replaced it (as instructors signed)."""

    links: Mapping[bytes, bytes] = attrs.field(factory=dict)

    def of(self, identity: bytes) -> bytes:
        """The person ``identity`` belongs to: the newest identity of its chain."""
        seen = {identity}
        while identity in self.links:
            identity = self.links[identity]
            if identity in seen:  # a cycle cannot be signed in order, but never loop
                break
            seen.add(identity)
        return identity

    def identities(self, person: bytes) -> set[bytes]:
        """Every identity of ``person``'s chain, ``person`` included."""
        return {person} | {old for old in self.links if self.of(old) == person}


def load_persons(conn: Connection, roster_now: Roster) -> Persons:
    """The replacement links instructors signed (``admit`` with ``replaces``), oldest first;
    a later link of the same old identity wins."""
    links: dict[bytes, bytes] = {}
    query = select(roster.c.author, roster.c.ts, roster.c.peer, roster.c.replaces)
    query = query.where(roster.c.action == "admit", roster.c.replaces.is_not(None))
    for row in conn.execute(query.order_by(roster.c.ts, roster.c.author, roster.c.seq)):
        if roster_now.is_instructor(row.author, row.ts) and row.replaces != row.peer:
            links[row.replaces] = row.peer
    return Persons(links)


def persons(store: Store, instructor: bytes) -> Persons:
    """Who is who in this class: the one mapping from identities to people."""
    with store.read() as conn:
        return load_persons(conn, load_roster(conn, instructor))


def reseal_items(store: Store, person: bytes, instructor: bytes) -> list[tuple[bytes, bytes]]:
    """(event id, content key) of the submissions of ``person``'s earlier identities, the
    feedback on them and the feedback they gave, that this store can open and has not yet
    shared with ``person``."""
    with store.read() as conn:
        olds = load_persons(conn, load_roster(conn, instructor)).identities(person) - {person}
        if not olds:
            return []
        subs = list(
            conn.execute(
                select(submissions.c.event_id)
                .where(submissions.c.author.in_(olds))
                .order_by(submissions.c.ts, submissions.c.seq)
            ).scalars()
        )
        # Verdicts on their work, and the reviews they wrote themselves.
        on_them = select(feedback.c.event_id).where(
            or_(feedback.c.submission.in_(subs), feedback.c.author.in_(olds))
        )
        wanted = subs + list(conn.execute(on_them.order_by(feedback.c.ts)).scalars())
        shared = select(shares.c.target).where(shares.c.recipient == person)
        done = set(conn.execute(shared).scalars())
        found = []
        for event_id in wanted:
            key = known_key(conn, event_id)
            if key is not None and event_id not in done:
                found.append((bytes(event_id), key))
        return found
