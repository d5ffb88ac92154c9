"""The roster and display names: who is a member, and what to call each author.

Both depend on the store's reader (the instructor key comes with the identity), so a store
opened without one has no roster and shows profile names.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select

from storage._ingest import now_ms
from storage._names import ClassNames, class_names
from storage._store_base import StoreBase
from storage.projections import Roster, load_roster, token_hash
from storage.schema import invites, meta

#: Meta keys of the instructor's open class invite (issue 18): the current token (hex), and
#: the hashes of those it replaced (JSON list of hex). Local, never synced.
OPEN_INVITE = "open_invite"
OPEN_REVOKED = "open_invites_revoked"


def roster_state_of(roster: Roster, peer_id: bytes) -> str | None:
    """``peer_id``'s state in ``roster``; in a class with no roster yet (made before rosters),
    everyone but the removed is ``member``."""
    state = roster.state(peer_id)
    if not roster.rostered and state is None:
        return "member"
    return state


class RosterReads(StoreBase):
    """The roster, the names it gives, and the instructor's local invite book."""

    def names(self) -> ClassNames:
        """Every name to show, from the roster (``storage._names``: the one naming rule),
        so no one can pass for a member, or for the instructor, by choosing a name."""
        instructor = None if self._reader is None else self._reader.instructor
        with self._read() as conn:
            return class_names(conn, instructor)

    def record_invite(self, hashed_token: bytes, name: str) -> None:
        """Remember a one-student invite this (instructor's) peer made: local, never synced,
        and only the token's hash, so a copied store cannot be used to join."""
        with self._write(durable=True) as conn:
            conn.execute(
                insert(invites).values(token_hash=hashed_token, name=name, created_at=now_ms())
            )

    def open_invite_token(self) -> bytes | None:
        """The class invite's token, once ``invite --revoke-open`` replaced the first one
        (which has none); None before."""
        with self._read() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == OPEN_INVITE)).scalar()
        return None if value is None else bytes.fromhex(value)

    def replace_open_invite(self, token: bytes) -> None:
        """Make ``token`` the class invite's: joins with any earlier one (or none) are refused
        by this (instructor's) peer from now on."""
        with self._write(durable=True) as conn:
            rows = dict(conn.execute(select(meta.c.key, meta.c.value)).all())
            revoked = json.loads(rows.get(OPEN_REVOKED, "[]"))
            if OPEN_INVITE in rows:
                revoked.append(token_hash(bytes.fromhex(rows[OPEN_INVITE])).hex())
            conn.execute(delete(meta).where(meta.c.key.in_([OPEN_INVITE, OPEN_REVOKED])))
            conn.execute(insert(meta).values(key=OPEN_INVITE, value=token.hex()))
            conn.execute(insert(meta).values(key=OPEN_REVOKED, value=json.dumps(revoked)))

    def roster(self) -> Roster | None:
        """The class roster (None without a reader: the instructor key is not known, so no
        roster event could be trusted)."""
        if self._reader is None:
            return None
        with self._read() as conn:
            return load_roster(conn, self._reader.instructor)

    def roster_state(self, peer_id: bytes) -> str | None:
        """``member``, ``pending`` or ``removed`` for ``peer_id``; None where the roster does
        not know it. In a class with no roster yet (made before rosters), everyone but the
        removed is ``member``. Cheap: for the network's session checks."""
        roster = self.roster()
        return None if roster is None else roster_state_of(roster, peer_id)
