"""The receive path: validate runs of other authors' events and store what extends their logs.

Blocking, inside one write transaction handed in by the store. Per author, a run is checked
for seq, prev and ts continuity, authenticated by its hash links plus its last signature,
projected, then inserted with one executemany.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager

import attrs
from sqlalchemy import Connection, insert, select, update

from peer.errors import ValidationError
from peer.log import Event, decode_event
from storage import projections
from storage.schema import events, forks, heads

_INSERT_EVENT = (
    "INSERT INTO events (author, seq, id, kind, raw, received_at) VALUES (?, ?, ?, ?, ?, ?)"
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@attrs.frozen
class IngestResult:
    """What one batch of received events did to the store."""

    stored: tuple[Event, ...] = ()
    duplicates: int = 0
    gaps: Mapping[bytes, int] = attrs.field(factory=dict)  # author -> first seq we lack
    rejected: tuple[str, ...] = ()  # invalid events: whoever sent them misbehaved
    fork_notes: tuple[str, ...] = ()  # validly signed conflicting events (kept as evidence)
    #: author -> highest seq in the batch: the sender holds at least this much of each log.
    seen: Mapping[bytes, int] = attrs.field(factory=dict)

    @property
    def forks(self) -> int:
        """How many new forks this batch revealed."""
        return len(self.fork_notes)


@attrs.define(eq=False)
class Head:
    seq: int
    id: bytes | None
    ts: int
    forked: bool
    known: bool


def ingest(
    write: Callable[[], AbstractContextManager[Connection]], raws: Sequence[bytes]
) -> IngestResult:
    """Validate and store events received from other peers, in one ``write`` transaction.

    Per author, the new events must continue its log: next seq, matching prev, later ts.
    A contiguous run is authenticated by its hash links plus the signature of its last
    event. Events already held are counted as duplicates; a validly signed second event
    for a seq we hold is recorded as a fork; a run that starts past our head is a gap.
    """
    rejected: list[str] = []
    by_author: dict[bytes, list[Event]] = {}
    for raw in raws:
        try:
            ev = decode_event(raw)
        except ValidationError as exc:
            rejected.append(str(exc))
            continue
        by_author.setdefault(ev.author, []).append(ev)
    seen = {a: max(e.seq for e in evs) for a, evs in by_author.items()}
    if not by_author:
        return IngestResult(rejected=tuple(rejected))
    stored: list[Event] = []
    gaps: dict[bytes, int] = {}
    fork_notes: list[str] = []
    duplicates = 0
    with write() as conn:
        for author, batch in by_author.items():
            outcome = _ingest_author(conn, author, batch)
            stored.extend(outcome.stored)
            duplicates += outcome.duplicates
            fork_notes.extend(outcome.fork_notes)
            rejected.extend(outcome.rejected)
            if outcome.gap is not None:
                gaps[author] = outcome.gap
        projections.index_chat_text(conn)  # chat search follows the stored events
    return IngestResult(
        stored=tuple(stored),
        duplicates=duplicates,
        gaps=gaps,
        rejected=tuple(rejected),
        fork_notes=tuple(fork_notes),
        seen=seen,
    )


def load_head(conn: Connection, author: bytes) -> Head:
    row = conn.execute(
        select(heads.c.seq, heads.c.id, heads.c.ts, heads.c.forked).where(heads.c.author == author)
    ).first()
    if row is None:
        return Head(0, None, 0, False, False)
    return Head(row.seq, row.id, row.ts, bool(row.forked), True)


def insert_run(
    conn: Connection, run: Sequence[Event], head: Head, arrived_ms: int | None = None
) -> None:
    """Insert a validated contiguous run of one author's events and move its head;
    ``arrived_ms`` (default now) is the time they were projected with (``chat_row``)."""
    now = now_ms() if arrived_ms is None else arrived_ms
    conn.exec_driver_sql(
        _INSERT_EVENT,
        [(e.author, e.seq, e.id, e.kind, e.raw, now) for e in run],
    )
    last = run[-1]
    values = {"seq": last.seq, "id": last.id, "ts": last.ts}
    if head.known:
        conn.execute(update(heads).where(heads.c.author == last.author).values(**values))
    else:
        conn.execute(insert(heads).values(author=last.author, forked=False, **values))
    head.seq, head.id, head.ts, head.known = last.seq, last.id, last.ts, True


def _record_fork(conn: Connection, conflicting: Event, *, kept_id: bytes | None) -> bool:
    """Keep a validly signed conflicting event as evidence and mark its author forked."""
    exists = conn.execute(
        select(forks.c.rowid).where(forks.c.conflicting_id == conflicting.id)
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(forks).values(
            author=conflicting.author,
            seq=conflicting.seq,
            kept_id=kept_id,
            conflicting_id=conflicting.id,
            conflicting_raw=conflicting.raw,
            recorded_at=now_ms(),
        )
    )
    conn.execute(update(heads).where(heads.c.author == conflicting.author).values(forked=True))
    return True


@attrs.define
class _AuthorOutcome:
    stored: list[Event] = attrs.Factory(list)
    duplicates: int = 0
    rejected: list[str] = attrs.Factory(list)
    fork_notes: list[str] = attrs.Factory(list)
    gap: int | None = None


def _ingest_author(conn: Connection, author: bytes, batch: list[Event]) -> _AuthorOutcome:
    """Store what ``batch`` (one author's events, in any order) adds to that author's log."""
    out = _AuthorOutcome()
    head = load_head(conn, author)
    who = author.hex()[:8]
    run: list[Event] = []
    later: list[Event] = []  # a second event for a seq this batch already extends
    expect_seq, expect_prev, last_ts = head.seq + 1, head.id, head.ts
    for ev in sorted(batch, key=lambda e: e.seq):
        if ev.seq < expect_seq:
            later.append(ev)
            continue
        if ev.seq != expect_seq:
            # Past a gap (at our head, or inside this batch): the sender must fill it first.
            out.gap = expect_seq
            break
        if ev.prev != expect_prev:
            # Proof of a fork only if what it fails to follow is authentic: our stored head, or
            # a validly signed event of this batch. A tampered predecessor proves nothing.
            if ev.verify_signature() and (not run or run[-1].verify_signature()):
                _record_fork(conn, ev, kept_id=None)
                out.fork_notes.append(f"author {who} forked: #{ev.seq} does not follow our log")
            elif run:
                out.rejected.append(f"event {who}#{ev.seq} does not follow #{ev.seq - 1}")
            else:
                out.rejected.append(f"event {who}#{ev.seq} has a bad signature")
            break
        if ev.ts <= last_ts:
            out.rejected.append(f"event {who}#{ev.seq} has a ts earlier than its predecessor")
            break
        run.append(ev)
        expect_seq, expect_prev, last_ts = ev.seq + 1, ev.id, ev.ts
    accepted: list[Event] = []
    arrived = now_ms()
    projector = projections.ProjectionBatch(conn, arrived)
    # A removed author's events past the removal's pin are kept in the log, never projected.
    pin = projections.pins_now(conn).get(author)
    for ev in _authenticated_prefix(run, out):
        if pin is not None and ev.seq > pin:
            accepted.append(ev)
            continue
        try:
            projector.add(ev)
        except ValidationError as exc:
            out.rejected.append(f"event {who}#{ev.seq} refused: {exc}")
            break
        accepted.append(ev)
    projector.flush()
    if accepted:
        insert_run(conn, accepted, head, arrived)
        out.stored.extend(accepted)
    if out.gap is not None:
        out.gap = head.seq + 1  # the first seq we lack, whatever part of the run was refused
    if later:
        # One query for every seq this batch repeats (live gossip brings duplicates often):
        # the id held at each, our head's known without asking.
        held = _held_ids(conn, author, {ev.seq for ev in later if ev.seq != head.seq})
        if head.id is not None:
            held[head.seq] = head.id
        for ev in later:
            _check_held(conn, ev, held.get(ev.seq), out)
    return out


def _held_ids(conn: Connection, author: bytes, seqs: set[int]) -> dict[int, bytes]:
    """The id of ``author``'s stored event at each of ``seqs`` (those held)."""
    if not seqs:
        return {}
    query = select(events.c.seq, events.c.id).where(
        events.c.author == author, events.c.seq.in_(sorted(seqs))
    )
    return {int(seq): bytes(held) for seq, held in conn.execute(query)}


def _authenticated_prefix(run: list[Event], out: _AuthorOutcome) -> list[Event]:
    """The run if its last signature holds (the hash links vouch for the rest); otherwise
    the longest prefix whose events each verify."""
    if not run or run[-1].verify_signature():
        return run
    for index, ev in enumerate(run):
        if not ev.verify_signature():
            out.rejected.append(f"event {ev.author.hex()[:8]}#{ev.seq} has a bad signature")
            return run[:index]
    return run


def _check_held(conn: Connection, ev: Event, held: bytes | None, out: _AuthorOutcome) -> None:
    """An event at a seq we already hold (``held`` is the id stored there): a duplicate, or
    (if validly signed) a fork."""
    if held is None:
        return  # its seq was not stored after all (the run was cut short): not evidence of anything
    if held == ev.id:
        out.duplicates += 1
    elif not ev.verify_signature():
        out.rejected.append(f"event {ev.author.hex()[:8]}#{ev.seq} has a bad signature")
    elif _record_fork(conn, ev, kept_id=held):
        out.fork_notes.append(f"author {ev.author.hex()[:8]} forked at seq {ev.seq}")
    else:
        out.duplicates += 1
