"""Only readers review (issue 18): a verdict counts only from someone who could read what it
judges. A submission's readers are its author, the class's staff (it is sealed to them), and
whoever a ``share`` from its author or a staff member gave its key to before the feedback;
an unsealed submission (made before sealing) is everyone's. Every peer sees the same shares
and roster, so every peer drops the same blind verdicts, forged or not.
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import select

from storage.projections import Roster
from storage.schema import shares, submissions


@attrs.frozen
class Readers:
    """Who could read which submission, and from when."""

    roster: Roster
    #: (submission, recipient) -> the earliest ts of a valid share of its key
    shared: dict[tuple[bytes, bytes], int]
    #: submission -> (author, sealed)
    subs: dict[bytes, tuple[bytes, bool]]

    def reads(self, reviewer: bytes, submission: bytes, ts: int) -> bool:
        """Whether ``reviewer`` could read ``submission`` by the time it wrote at ``ts``."""
        found = self.subs.get(submission)
        if found is None:
            return False
        author, sealed = found
        if not sealed or reviewer == author or self.roster.holds(reviewer, STAFF, ts):
            return True
        since = self.shared.get((submission, reviewer))
        return since is not None and since <= ts


STAFF = ("instructor", "ta")


def load_readers(conn: Any, roster: Roster) -> Readers:
    """Who could read which submission, from the submissions and shares this store holds
    (loaded once per listing: a class holds few enough of both)."""
    subs = {
        row.event_id: (row.author, bool(row.sealed))
        for row in conn.execute(
            select(submissions.c.event_id, submissions.c.author, submissions.c.sealed)
        )
    }
    shared: dict[tuple[bytes, bytes], int] = {}
    for row in conn.execute(
        select(shares.c.target, shares.c.recipient, shares.c.author, shares.c.ts)
    ):
        target = subs.get(row.target)
        # Only the author's own peer and the staff's hold the key to give: anyone else's
        # "share" is a claim with nothing behind it.
        if target is None or not (row.author == target[0] or roster.holds(row.author, STAFF)):
            continue
        key = (row.target, row.recipient)
        shared[key] = min(shared.get(key, row.ts), row.ts)
    return Readers(roster, shared, subs)
