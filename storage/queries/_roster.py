"""The roster as commands see it, and the membership work a running peer does on its own:
the instructor's peer admits whoever presents a valid unused admission token, and on a
``review: peers`` problem a peer that can open a submission shares its key with each member
who has submitted to the same problem (the instructor's peer and the author's own peer both
do this, whichever is online first; a duplicate share is harmless).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select

from peer.log import seal_key
from storage._store_roster import OPEN_INVITE
from storage.projections import Roster, RosterEntry, known_key, load_roster, token_hash
from storage.schema import heads, invites, joins, meta, problems, shares, submissions

if TYPE_CHECKING:
    from storage._store import Store

__all__ = [
    "Duty",
    "RosterEntry",
    "pending_duties",
    "removal_note",
    "roster_entries",
    "token_hash",
]

#: At most this many duties per round, so one round stays a short transaction each.
MAX_DUTIES = 200


def roster_entries(store: Store, instructor: bytes) -> list[RosterEntry]:
    """Everyone the roster knows (members, pending, removed), by state then name: the instructor
    admits and removes from this list, the pending first to act on."""
    with store.read() as conn:
        roster = load_roster(conn, instructor)
    order = {"member": 0, "pending": 1, "removed": 2}
    return sorted(
        roster.entries.values(), key=lambda e: (order[e.state], e.role != "instructor", e.name)
    )


@attrs.frozen
class Duty:
    """An event this peer should author: ``kind`` and ``body``, ready for ``Store.append``."""

    kind: str
    body: dict[str, Any]


def pending_duties(store: Store) -> list[Duty]:
    """What this peer's identity should author now (admits, shares); empty without one."""
    reader = store.reader
    if reader is None:
        return []
    with store.read() as conn:
        roster = load_roster(conn, reader.instructor)
        duties = _admits(conn, roster) if reader.is_instructor else []
        duties += _shares(conn, roster, reader.peer_id, reader.instructor)
    return duties[:MAX_DUTIES]


def _admits(conn: Any, roster: Roster) -> list[Duty]:
    """Admit the first joiner (in log order) presenting each valid, unused token; refuse
    (remove, with the reason) a joiner presenting a token that can never admit again (issue
    18) one a removed identity joined with, or, once the class invite was replaced, the old
    class invite. A token an admit already named never admits again (removal never frees
    it); its other joiners stay pending for the instructor to decide."""
    made = {row.token_hash: row.name for row in conn.execute(select(invites))}
    used = roster.used_invites()
    revoked = {
        row.token_hash
        for row in conn.execute(select(joins.c.author, joins.c.token_hash))
        if row.token_hash is not None and roster.state(row.author) == "removed"
    }
    settings = dict(conn.execute(select(meta.c.key, meta.c.value)).all())
    open_now = settings.get(OPEN_INVITE)
    open_hash = None if open_now is None else token_hash(bytes.fromhex(open_now))
    duties = []
    decided: set[bytes] = set()
    for row in conn.execute(select(joins).order_by(joins.c.ts, joins.c.author, joins.c.seq)):
        hashed = row.token_hash
        if row.author in decided or roster.state(row.author) != "pending":
            continue
        if hashed is not None and hashed in made:
            if hashed in revoked:  # a removed identity's: refused, so it is told
                decided.add(row.author)
                duties.append(_refusal(conn, row.author, REVOKED_INVITE))
                continue
            if hashed in used:  # a member's: the instructor may still admit it by hand
                continue
            decided.add(row.author)
            used.add(hashed)
            body = {
                "action": "admit",
                "peer": row.author,
                "name": made[hashed],
                "role": "student",
                "invite": hashed,
            }
            duties.append(Duty("roster", body))
        elif open_hash is not None and hashed != open_hash:
            decided.add(row.author)
            duties.append(_refusal(conn, row.author, REVOKED_OPEN_INVITE))
    return duties


#: Why the instructor's peer refused a joiner: what the joiner's side is shown.
REVOKED_INVITE = "joined with an invite revoked by a removal; ask the instructor"
REVOKED_OPEN_INVITE = "joined with a class invite the instructor has replaced; ask for the new one"


def _refusal(conn: Any, peer: bytes, reason: str) -> Duty:
    """A removal of a joiner, pinned at its head as this store holds it."""
    held = conn.execute(select(heads.c.seq, heads.c.id).where(heads.c.author == peer)).first()
    until = {"seq": 0} if held is None else {"seq": held.seq, "id": held.id}
    return Duty("roster", {"action": "remove", "peer": peer, "until": until, "reason": reason})


def removal_note(store: Store, peer_id: bytes) -> str | None:
    """What a removed identity is told when it connects (None for anyone else): a student removed
    from the class learns why instead of seeing the network go quiet."""
    roster = store.roster()
    entry = None if roster is None else roster.entries.get(peer_id)
    if entry is None or entry.state != "removed":
        return None
    return "removed from the class roster" + (f": {entry.reason}" if entry.reason else "")


def _shares(conn: Any, roster: Roster, me: bytes, instructor: bytes) -> list[Duty]:
    is_instructor = roster.is_instructor(me)  # any instructor's peer (DESIGN §10)
    staff = set(roster.staff())
    duties = []
    newest: dict[bytes, str] = {}
    #: Thread -> when it became peer-reviewed: only work made after that is shared (issue 18),
    #: so republishing a problem with ``--review peers`` opens none of its earlier work.
    since: dict[bytes, int] = {}
    query = select(problems.c.root, problems.c.review, problems.c.ts).order_by(problems.c.seq)
    for row in conn.execute(query):
        if row.review == "peers" and newest.get(row.root) != "peers":
            since[row.root] = row.ts
        newest[row.root] = row.review
    peer_review = [root for root, review in newest.items() if review == "peers"]
    if not peer_review:
        return []
    thread_of = dict(
        conn.execute(
            select(problems.c.event_id, problems.c.root).where(problems.c.root.in_(peer_review))
        ).all()
    )
    subs = [
        s
        for s in conn.execute(
            select(
                submissions.c.event_id,
                submissions.c.author,
                submissions.c.problem,
                submissions.c.ts,
                submissions.c.seq,
            )
            .where(submissions.c.problem.in_(list(thread_of)), submissions.c.sealed)
            .order_by(submissions.c.ts, submissions.c.author, submissions.c.seq)
        )
        if s.ts > since[thread_of[s.problem]]
    ]
    done = {
        (r.target, r.recipient) for r in conn.execute(select(shares.c.target, shares.c.recipient))
    }
    submitted: dict[bytes, set[bytes]] = {}
    for s in subs:
        if roster.counts(s.author) and not roster.ignores(s.author, s.ts, s.seq):
            submitted.setdefault(thread_of[s.problem], set()).add(s.author)
    for s in subs:
        if not (is_instructor or s.author == me) or roster.ignores(s.author, s.ts, s.seq):
            continue
        key = known_key(conn, s.event_id)
        if key is None:
            continue
        for reader in sorted(submitted.get(thread_of[s.problem], set()) - {s.author}):
            if (s.event_id, reader) in done or reader == instructor or reader in staff:
                continue
            done.add((s.event_id, reader))
            duties.append(
                Duty("share", {"event": s.event_id, "to": reader, "key": seal_key(key, reader)})
            )
    return duties
