"""What each page shows, gathered from ``storage.queries`` and ``Store`` reads only.

Every function here blocks (SQLite): the app calls them in a worker thread. They return frozen
values that templates render; nothing here writes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from peer.identity import Membership
from peer.log import hlc, unseal
from storage import PeerRecord, Store
from storage.queries import (
    ChatMessage,
    Feedback,
    Problem,
    Progress,
    RosterEntry,
    Submission,
    SubmissionDetail,
    get_submission,
    has_submitted,
    iter_chat_log,
    list_feedback,
    list_problems,
    list_submissions,
    newest_revision,
    progress,
    review_queue,
    roster_entries,
    students,
)

DEFAULT_ROOM = "general"
#: A room page shows this many of its latest messages.
ROOM_PAGE = 300
DAY_MS = 86_400_000


@attrs.frozen
class Shown:
    """A chat message this viewer may read, with its text."""

    message: ChatMessage
    text: str
    mine: bool


@attrs.frozen
class RoomEntry:
    key: str  # a room name, or "@" + the other person's id in hex for a private conversation
    label: str
    unread: int


@attrs.frozen
class Person:
    id: bytes
    name: str
    role: str
    online: bool
    last_seen: int | None  # ms


@attrs.frozen
class ChatView:
    rooms: tuple[RoomEntry, ...]
    private: tuple[RoomEntry, ...]
    current: str
    title: str
    messages: tuple[Shown, ...]
    earlier: int  # messages of this conversation not shown (older than the page)
    people: tuple[Person, ...]
    newest_ts: int


def ms_of(ts: int) -> int:
    return hlc.to_ms(ts)


def readable(messages: Iterable[ChatMessage], me: Membership) -> Iterator[Shown]:
    """Every public message, and the private ones this viewer sent or received (lazily, so a
    long history streams through instead of being held)."""
    for m in messages:
        mine = m.author == me.peer_id
        if m.recipient is None:
            yield Shown(m, m.text, mine)
        elif m.sealed is not None and me.peer_id in (m.author, m.recipient):
            text = unseal(me.signing_key, m.author, m.recipient, m.sealed)
            if text is not None:
                yield Shown(m, text, mine)


def conversation_key(shown: Shown, me: bytes) -> str:
    m = shown.message
    if m.recipient is None:
        return m.room
    other = m.recipient if m.author == me else m.author
    return "@" + other.hex()


def people(store: Store, me: Membership, online: set[bytes]) -> list[Person]:
    """Everyone known: online now (a live session), and when each was last seen."""
    names = store.names()
    records: dict[bytes, PeerRecord] = {r.id: r for r in store.peer_records()}
    ids = (set(names) | set(records)) - {me.peer_id}
    result = []
    for pid in ids:
        record = records.get(pid)
        role = "instructor" if pid == me.klass.instructor else "student"
        result.append(
            Person(
                pid,
                names.get(pid) or (record.name if record else None) or pid.hex()[:8],
                role,
                pid in online,
                None if record is None else record.last_seen,
            )
        )
    return sorted(result, key=lambda p: (not p.online, p.name.casefold(), p.id))


def chat_view(
    store: Store,
    me: Membership,
    current: str,
    read_marks: Mapping[str, int],
    online: set[bytes],
) -> ChatView:
    # Streamed a page at a time: memory stays bounded however long the history (the time
    # still grows with it, since unread counts look at every readable message).
    everything = readable(iter_chat_log(store, reader=me.peer_id), me)
    names = store.names()
    rooms: dict[str, int] = {DEFAULT_ROOM: 0}
    private: dict[str, int] = {}
    if current.startswith("@"):
        private.setdefault(current, 0)
    else:
        rooms.setdefault(current, 0)
    here: deque[Shown] = deque(maxlen=ROOM_PAGE)
    here_total = 0
    newest = 0
    for s in everything:
        key = conversation_key(s, me.peer_id)
        counts = private if key.startswith("@") else rooms
        counts.setdefault(key, 0)
        if key == current:
            here.append(s)
            here_total += 1
            newest = max(newest, s.message.ts)
        elif not s.mine and s.message.ts > read_marks.get(key, 0):
            counts[key] += 1

    def label(key: str) -> str:
        if not key.startswith("@"):
            return "#" + key
        other = bytes.fromhex(key[1:])
        return names.get(other) or key[1:9]

    title = label(current)
    return ChatView(
        rooms=tuple(RoomEntry(k, label(k), n) for k, n in sorted(rooms.items())),
        private=tuple(
            RoomEntry(k, label(k), n)
            for k, n in sorted(private.items(), key=lambda kv: label(kv[0]).casefold())
        ),
        current=current,
        title=title,
        messages=tuple(here),
        earlier=here_total - len(here),
        people=tuple(people(store, me, online)),
        newest_ts=newest,
    )


# ---- problems ---------------------------------------------------------------------------------


@attrs.frozen
class ProblemRow:
    problem: Problem
    my_attempts: int
    status: str  # "accepted", "revise", "pending", "not attempted"


@attrs.frozen
class Attempt:
    detail: SubmissionDetail
    threads: tuple[Thread, ...]


@attrs.frozen
class Thread:
    """One reviewer's feedback on one submission: the newest revision and the ones before."""

    newest: Feedback
    earlier: tuple[Feedback, ...]


@attrs.frozen
class ProblemView:
    problem: Problem
    attempts: tuple[Attempt, ...]  # newest first
    revisions: int


def status_of(p: Progress) -> str:
    if p.accepted:
        return "accepted"
    if p.latest is None:
        return "not attempted"
    if any(f.verdict == "revise" for f in p.verdicts):
        return "revise"
    return "pending"


def problem_rows(store: Store, me: Membership) -> list[ProblemRow]:
    mine = {p.problem.root: p for p in progress(store, me.klass.instructor, [me.peer_id])}
    return [
        ProblemRow(p, mine[p.root].attempts if p.root in mine else 0, _status(mine.get(p.root)))
        for p in list_problems(store, me.klass.instructor)
    ]


def _status(p: Progress | None) -> str:
    return "not attempted" if p is None else status_of(p)


def threads(store: Store, me: Membership, submission: bytes) -> tuple[Thread, ...]:
    every = list_feedback(store, me.klass.instructor, submission=submission, every_version=True)
    by_root: dict[bytes, list[Feedback]] = {}
    for f in every:
        by_root.setdefault(f.root, []).append(f)
    result = []
    for versions in by_root.values():
        versions.sort(key=lambda f: f.seq)
        result.append(Thread(versions[-1], tuple(reversed(versions[:-1]))))
    return tuple(sorted(result, key=lambda t: (t.newest.role != "instructor", t.newest.ts)))


def problem_view(store: Store, me: Membership, problem_id: bytes) -> ProblemView | None:
    problem = newest_revision(store, problem_id, me.klass.instructor)
    if problem is None:
        return None
    attempts = []
    for s in reversed(list_submissions(store, problem_root=problem.root, author=me.peer_id)):
        detail = get_submission(store, s.id)
        if detail is not None:
            attempts.append(Attempt(detail, threads(store, me, s.id)))
    revisions = sum(1 for p in list_problems(store, me.klass.instructor) if p.root == problem.root)
    return ProblemView(problem, tuple(attempts), revisions)


# ---- feedback -----------------------------------------------------------------------------------


@attrs.frozen
class QueueItem:
    submission: Submission
    reviewed_by_me: bool
    feedback_count: int


@attrs.frozen
class FeedbackView:
    mine: tuple[Attempt, ...]  # newest first
    to_review: tuple[QueueItem, ...]


def feedback_view(store: Store, me: Membership) -> FeedbackView:
    mine = []
    for s in reversed(list_submissions(store, author=me.peer_id)):
        detail = get_submission(store, s.id)
        if detail is not None:
            mine.append(Attempt(detail, threads(store, me, s.id)))
    every_feedback = list_feedback(store, me.klass.instructor)
    queue = []
    for s in reversed(list_submissions(store)):
        if s.author == me.peer_id or not may_review(store, me, s):
            continue
        on_it = [f for f in every_feedback if f.submission_id == s.id]
        queue.append(QueueItem(s, any(f.reviewer == me.peer_id for f in on_it), len(on_it)))
    return FeedbackView(tuple(mine), tuple(queue))


def may_review(store: Store, me: Membership, s: Submission) -> bool:
    """The instructor reviews everything; a student reviews a classmate's submission to a
    problem they have submitted to themselves (the peer-review rule of DESIGN section 7).

    Seam for the privacy work: when problems carry a ``review: peers`` flag in the queries,
    require it here too (today a readable submission to a problem one has submitted to).
    """
    if me.is_instructor:
        return True
    # A sealed submission not shared with this student cannot be read, so not reviewed.
    return s.readable and has_submitted(store, me.peer_id, s.problem_id)


@attrs.frozen
class SubmissionView:
    detail: SubmissionDetail
    threads: tuple[Thread, ...]
    mine: Feedback | None  # my current feedback on it, to revise
    may_review: bool
    problem: Problem | None


def submission_view(store: Store, me: Membership, submission_id: bytes) -> SubmissionView | None:
    detail = get_submission(store, submission_id)
    if detail is None:
        return None
    found = threads(store, me, submission_id)
    mine = next((t.newest for t in found if t.newest.reviewer == me.peer_id), None)
    s = detail.submission
    allowed = s.author != me.peer_id and may_review(store, me, s)
    problem = newest_revision(store, s.problem_id, me.klass.instructor)
    return SubmissionView(detail, found, mine, allowed, problem)


# ---- instructor ---------------------------------------------------------------------------------


@attrs.frozen
class Cell:
    status: str
    attempts: int
    late: bool
    latest: Submission | None


@attrs.frozen
class ProgressRow:
    student: bytes
    name: str
    cells: tuple[Cell, ...]


@attrs.frozen
class InstructorView:
    problems: tuple[Problem, ...]
    rows: tuple[ProgressRow, ...]
    waiting: tuple[Submission, ...]  # newest first
    roster: tuple[RosterEntry, ...]  # members, pending, removed


def instructor_view(store: Store, me: Membership) -> InstructorView:
    instructor = me.klass.instructor
    problems = list_problems(store, instructor)
    people = students(store, instructor)
    names = store.names()
    table = progress(store, instructor, people)
    per_student: dict[bytes, list[Cell]] = {}
    for p in table:
        per_student.setdefault(p.student, []).append(
            Cell(status_of(p), p.attempts, p.latest is not None and p.latest.late, p.latest)
        )
    rows = tuple(
        ProgressRow(s, names.get(s) or s.hex()[:8], tuple(per_student.get(s, []))) for s in people
    )
    return InstructorView(
        tuple(problems),
        rows,
        tuple(waiting_for_verdict(store, me)),
        tuple(roster_entries(store, instructor)),
    )


def waiting_for_verdict(store: Store, me: Membership) -> list[Submission]:
    """Submissions to official problems with no instructor verdict yet, newest first (the
    queue ``peerclass queue`` lists)."""
    return list(reversed(review_queue(store, me.klass.instructor)))


def standing(store: Store, me: Membership) -> str | None:
    """'pending' or 'removed' when this student is not (or no longer) a member: shown on every
    page, since their work does not count until the instructor admits them."""
    if me.is_instructor:
        return None
    for entry in roster_entries(store, me.klass.instructor):
        if entry.peer_id == me.peer_id:
            return None if entry.state == "member" else entry.state
    return None


def due_text(due_ms: int | None, now_ms: int) -> str:
    """'due in 2 days', 'due in 3 hours', 'overdue by 1 day' (the page localises the date)."""
    if due_ms is None:
        return ""
    delta = due_ms - now_ms
    span = abs(delta)
    if span >= DAY_MS:
        n, unit = span // DAY_MS, "day"
    elif span >= 3_600_000:
        n, unit = span // 3_600_000, "hour"
    else:
        n, unit = max(1, span // 60_000), "minute"
    amount = f"{n} {unit}{'' if n == 1 else 's'}"
    return f"due in {amount}" if delta >= 0 else f"overdue by {amount}"


def submissions_of(items: Sequence[Attempt]) -> list[Submission]:
    return [a.detail.submission for a in items]
