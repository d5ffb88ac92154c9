"""The class at a glance (issue 20): each student's peer (online, last seen, how far behind
this peer it is) and their state on each open problem.

Last seen comes from the address book the running peer keeps; who is around now and how many
events a student's peer lacks are known only to the running peer (from beacons and from what
it exchanged with theirs), so the caller passes them in (``heard``, ``behind``); ``behind``
is None for a peer not connected to this one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import attrs

from storage.queries._curriculum import Problem, Progress, list_problems, progress, students

if TYPE_CHECKING:
    from storage._store import Store

#: A student's state on one problem, as the board shows it.
STATES = ("not started", "awaiting verdict", "revise", "accepted")


@attrs.frozen
class BoardCell:
    state: str  # one of STATES
    attempts: int
    late: bool


@attrs.frozen
class BoardRow:
    student: bytes
    name: str
    online: bool
    last_seen: int | None  # ms since the epoch
    behind: int | None  # events this peer holds that theirs lacks; None: not connected here
    cells: tuple[BoardCell, ...]

    @property
    def sync_text(self) -> str:
        if self.behind is None:
            return "-"
        return "in sync" if self.behind == 0 else f"{self.behind} behind"


@attrs.frozen
class Board:
    problems: tuple[Problem, ...]
    rows: tuple[BoardRow, ...]


def _state(p: Progress) -> BoardCell:
    if p.latest is None:
        return BoardCell("not started", 0, False)
    if p.accepted:
        state = "accepted"
    elif p.verdicts:
        state = "revise"
    else:
        state = "awaiting verdict"
    return BoardCell(state, p.attempts, p.latest.late)


def class_board(
    store: Store,
    instructor: bytes,
    behind: Mapping[bytes, int],
    now_ms: int,
    *,
    heard: Collection[bytes] = (),
) -> Board:
    """Every student, by name; the open official problems (no due date, or one still ahead)."""
    people = students(store, instructor)
    open_ids = [
        p.root
        for p in list_problems(store, instructor)
        if p.official and (p.due is None or p.due > now_ms)
    ]
    standing = progress(store, instructor, people)
    problems = {p.problem.root: p.problem for p in standing if p.problem.root in open_ids}
    records = {r.id: r for r in store.peer_records()}
    names = store.names()
    rows = []
    for who in people:
        mine = {p.problem.root: p for p in standing if p.student == who}
        record = records.get(who)
        online = who in heard or who in behind or (record is not None and record.connected)
        rows.append(
            BoardRow(
                student=who,
                name=names.get(who) or who.hex()[:8],
                online=online,
                last_seen=None if record is None else record.last_seen,
                behind=behind.get(who) if online else None,
                cells=tuple(_state(mine[root]) for root in open_ids if root in mine),
            )
        )
    return Board(tuple(problems[r] for r in open_ids if r in problems), tuple(rows))


def board_json(board: Board) -> dict[str, object]:
    """The board for scripts and for ``progress --live`` (ids in hex, times in ms)."""
    return {
        "problems": [{"id": p.root.hex(), "title": p.title} for p in board.problems],
        "students": [
            {
                "peer_id": r.student.hex(),
                "name": r.name,
                "online": r.online,
                "last_seen": r.last_seen,
                "behind": r.behind,
                "cells": [attrs.asdict(c) for c in r.cells],
            }
            for r in board.rows
        ],
    }
