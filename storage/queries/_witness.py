"""Witnessed time (DESIGN §10, issue 18): when a witness other than its author held a
submission, and whether that makes it late; and what a witness's next checkpoint says.

A submission's *attested* time is the earliest ``time`` of a witness checkpoint that covers
it (names its author at its seq or later, with the head id this store holds there, so no
witness can vouch for an event before it exists). The rule for late work:

- covered by a witness at or before the due time plus the class's skew: on time, whatever
  its author's clock said;
- otherwise, once some witness's checkpoint is past that time (the witness went past the due
  time without holding it): late, whatever its author's clock said;
- otherwise (no witness has passed the due time yet): by its author's claimed time, as
  before; a claim can admit lateness, and a witness will settle it when it passes.

Every peer holding the same events computes the same answer.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import and_, func, select

from peer.log import DEFAULT_SKEW_MS, DEFAULT_WITNESSES, MAX_CHECKPOINT_HEADS, is_late
from storage.projections import Roster, load_roster
from storage.schema import (
    checkpoint_heads,
    checkpoints,
    class_settings,
    events,
    extensions,
    heads,
    problems,
)

if TYPE_CHECKING:
    from storage._store import Store

#: While events arrive, a witness writes a checkpoint at most this often (seconds).
CHECKPOINT_INTERVAL = 30.0


@attrs.frozen
class TimeRules:
    """Who witnesses, and the skew granted on top of a due time (the instructor's word)."""

    witnesses: frozenset[bytes]
    skew_ms: int
    members_witness: bool


def time_rules(conn: Any, roster: Roster) -> TimeRules:
    """The founder's newest ``settings`` (defaults without one): the instructors' peers
    witness always; members' peers too where the class says ``members``."""
    row = conn.execute(
        select(class_settings.c.witnesses, class_settings.c.skew_ms)
        .where(class_settings.c.author == roster.founder)
        .order_by(class_settings.c.seq.desc())
        .limit(1)
    ).first()
    mode = DEFAULT_WITNESSES if row is None else row.witnesses
    skew = DEFAULT_SKEW_MS if row is None else int(row.skew_ms)
    members = [e.peer_id for e in roster.entries.values() if e.state == "member"]
    witnesses = {roster.founder} | {p for p in members if roster.is_instructor(p)}
    if mode == "members":
        witnesses |= set(members)
    return TimeRules(frozenset(witnesses), skew, mode == "members")


@attrs.frozen
class Attestor:
    """Attested times and the late rule over one snapshot of the checkpoints."""

    rules: TimeRules
    #: author -> (seqs ascending, the earliest attested time of each seq or a later one)
    covered: dict[bytes, tuple[list[int], list[int]]]
    #: The latest checkpoint time of any witness (None: no witness checkpoint yet).
    passed: int | None

    def attested(self, author: bytes, seq: int) -> int | None:
        """The earliest witness time that covers ``author``'s event ``seq`` (ms), or None."""
        found = self.covered.get(author)
        if found is None:
            return None
        seqs, earliest = found
        at = bisect.bisect_left(seqs, seq)
        return None if at == len(seqs) else earliest[at]

    def late(self, author: bytes, seq: int, ts: int, due: int | None, late_policy: str) -> bool:
        """Whether the event is late for ``due`` (the module's rule)."""
        if due is None or late_policy == "accept":
            return False
        limit = due + self.rules.skew_ms
        attested = self.attested(author, seq)
        if attested is not None and attested <= limit:
            return False
        if self.passed is not None and self.passed > limit:
            return True
        return is_late(ts, due, late_policy)


def attestor(conn: Any, instructor: bytes) -> Attestor:
    """Load what the witnesses of this class held, and when."""
    roster = load_roster(conn, instructor)
    rules = time_rules(conn, roster)
    witnesses = list(rules.witnesses)
    held = and_(
        events.c.author == checkpoint_heads.c.author,
        events.c.seq == checkpoint_heads.c.seq,
        events.c.id == checkpoint_heads.c.head,
    )
    query = (
        select(checkpoint_heads.c.author, checkpoint_heads.c.seq, func.min(checkpoint_heads.c.time))
        .join_from(checkpoint_heads, events, held)
        .where(checkpoint_heads.c.witness.in_(witnesses))
        .group_by(checkpoint_heads.c.author, checkpoint_heads.c.seq)
    )
    by_author: dict[bytes, list[tuple[int, int]]] = {}
    for author, seq, time in conn.execute(query):
        by_author.setdefault(author, []).append((int(seq), int(time)))
    covered = {a: _suffix_min(rows) for a, rows in by_author.items()}
    passed = conn.execute(
        select(func.max(checkpoints.c.time)).where(checkpoints.c.author.in_(witnesses))
    ).scalar()
    return Attestor(rules, covered, None if passed is None else int(passed))


def _suffix_min(rows: Iterable[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Seqs ascending, each with the least time among itself and every higher seq: a
    checkpoint holding seq 9 covers seq 5 too."""
    ordered = sorted(rows)
    seqs = [s for s, _ in ordered]
    earliest = [t for _, t in ordered]
    for i in range(len(earliest) - 2, -1, -1):
        earliest[i] = min(earliest[i], earliest[i + 1])
    return seqs, earliest


def load_attestor(store: Store) -> Attestor | None:
    """The store's attestor (None without a reader: the instructor key is unknown), so callers can
    tell witnessed times from claimed ones when they judge lateness."""
    reader = store.reader
    if reader is None:
        return None
    with store.read() as conn:
        return attestor(conn, reader.instructor)


# ---- the witness's side ---------------------------------------------------------------------


def is_witness(store: Store) -> bool:
    """Whether this store's identity witnesses for its class now: only a witness writes checkpoints,
    so the others need not run the timers."""
    reader = store.reader
    if reader is None:
        return False
    with store.read() as conn:
        roster = load_roster(conn, reader.instructor)
        return reader.peer_id in time_rules(conn, roster).witnesses


def checkpoint_body(store: Store, *, time_ms: int, always: bool) -> dict[str, Any] | None:
    """The next checkpoint of this store's identity: the heads it holds that moved since its
    previous checkpoint (its own log left out, or every checkpoint would call for another),
    at ``time_ms`` (never before its previous one). None when nothing moved, unless
    ``always`` (a due time passing is recorded even so)."""
    reader = store.reader
    if reader is None:
        return None
    me = reader.peer_id
    with store.read() as conn:
        named = dict(
            conn.execute(
                select(checkpoint_heads.c.author, func.max(checkpoint_heads.c.seq))
                .where(checkpoint_heads.c.witness == me)
                .group_by(checkpoint_heads.c.author)
            ).all()
        )
        last = conn.execute(
            select(func.max(checkpoints.c.time)).where(checkpoints.c.author == me)
        ).scalar()
        moved = [
            [row.author, row.seq, row.id]
            for row in conn.execute(
                select(heads.c.author, heads.c.seq, heads.c.id).order_by(heads.c.author)
            )
            if row.author != me and row.seq > named.get(row.author, 0)
        ]
    if not moved and not always:
        return None
    return {"time": max(time_ms, int(last or 0)), "heads": moved[:MAX_CHECKPOINT_HEADS]}


def upcoming_dues(store: Store, after_ms: int) -> list[int]:
    """When a witness must write (ms, later than ``after_ms``, soonest first): each due time,
    to record what it held then, and just after each due time plus the class's skew, from
    when work it does not hold is late."""
    reader = store.reader
    with store.read() as conn:
        skew = 0
        if reader is not None:
            skew = time_rules(conn, load_roster(conn, reader.instructor)).skew_ms
        dues: set[int] = set()
        for table in (problems, extensions):  # extensions: where this identity reads them
            query = select(table.c.due).where(table.c.due + skew > after_ms).distinct()
            dues |= {int(d) for d in conn.execute(query).scalars() if d is not None}
    # Just past the skew: from that checkpoint on, work the witness does not hold is late.
    moments = {m for d in dues for m in (d, d + skew + 1) if m > after_ms}
    return sorted(moments)
