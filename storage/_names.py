"""What to call an author: the one naming rule every view uses (CLI listings, console, web UI,
reports), so that no view can be fooled where another is not.

A name comes from the roster the instructor signs, never from what an author says about
itself: a ``profile`` event changes no shown name. Pending identities (from the open invite)
show the name they asked to join under, marked ``(pending)``; removed members their roster
name marked ``(removed)``; an identity the roster does not know its claimed name marked
``(not in the roster)``. A role badge (``instructor``, ``ta``) comes from the roster's role
field, and only for members. A class whose instructor never signed a roster entry (stores
made before rosters existed) has nothing else to go by, and shows profile names as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

import attrs
from sqlalchemy import Connection, select

from storage.projections import load_roster
from storage.schema import profiles

__all__ = ["ClassNames", "Name", "class_names"]

Standing = Literal["member", "pending", "removed", "unknown"]

_MARKS: dict[Standing, str] = {
    "member": "",
    "pending": "pending",
    "removed": "removed",
    "unknown": "not in the roster",
}


@attrs.frozen
class Name:
    """How one identity is shown: ``name`` plus a visible ``mark`` for anyone not a member."""

    peer_id: bytes
    name: str
    standing: Standing
    #: The roster's role (``student``, ``ta``, ``instructor``); None where the roster says
    #: nothing about this identity (pending, unknown).
    role: str | None = None

    @property
    def mark(self) -> str:
        """``pending``, ``removed``, ``not in the roster``, or empty for a member."""
        return _MARKS[self.standing]

    @property
    def label(self) -> str:
        """The name as one line of text: ``NAME``, ``NAME (pending)``, ``NAME (removed)``."""
        return f"{self.name} ({self.mark})" if self.mark else self.name

    @property
    def badge(self) -> str | None:
        """The role to show beside a member's name (``instructor``, ``ta``); None for a
        student and for anyone who is not a member."""
        if self.standing != "member" or self.role in (None, "student"):
            return None
        return self.role

    @property
    def tagged(self) -> str:
        """:attr:`label` with the role badge in brackets: ``Ms. Kim [instructor]``."""
        return self.label if self.badge is None else f"{self.label} [{self.badge}]"


@attrs.frozen(eq=False)  # compared as the mapping it is (``Mapping.__eq__``)
class ClassNames(Mapping[bytes, str]):
    """Every identity this store can name, as a mapping from peer id to :attr:`Name.label`
    (so ``names.get(peer_id)`` is the line of text to print); :meth:`of` gives the whole
    :class:`Name` of any id, a stranger's included."""

    by_id: dict[bytes, Name]

    def of(self, peer_id: bytes) -> Name:
        """The shown name of ``peer_id``; an id nobody named is shown by its short form."""
        found = self.by_id.get(peer_id)
        if found is not None:
            return found
        return Name(peer_id, peer_id.hex()[:8], "unknown")

    def label(self, peer_id: bytes) -> str:
        """:attr:`Name.label` of :meth:`of`: never empty, never a profile's bare claim."""
        return self.of(peer_id).label

    def tagged(self, peer_id: bytes) -> str:
        """:attr:`Name.tagged` of :meth:`of`: the label and the roster's role badge."""
        return self.of(peer_id).tagged

    def __getitem__(self, peer_id: bytes) -> str:
        return self.by_id[peer_id].label

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.by_id)

    def __len__(self) -> int:
        return len(self.by_id)


def class_names(conn: Connection, instructor: bytes | None) -> ClassNames:
    """The names the roster (of the class whose instructor key is ``instructor``) gives.
    Without an instructor key (a store opened with no identity) there is no roster, and
    profile names are all there is."""
    claimed = {
        row.author: str(row.name)
        for row in conn.execute(select(profiles.c.author, profiles.c.name))
    }
    roster = None if instructor is None else load_roster(conn, instructor)
    if roster is None or not roster.rostered:
        shown = {peer: Name(peer, name, "member") for peer, name in claimed.items()}
        if instructor is not None and instructor in shown:
            shown[instructor] = attrs.evolve(shown[instructor], role="instructor")
        return ClassNames(shown)
    shown = {peer: Name(peer, name, "unknown") for peer, name in claimed.items()}
    for entry in roster.entries.values():
        role = entry.role if entry.state == "member" else None
        shown[entry.peer_id] = Name(entry.peer_id, entry.name, entry.state, role)
    return ClassNames(shown)
