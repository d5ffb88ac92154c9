"""Curriculum projections: what is refused at receipt (the same on every peer), what links up
at query time when it arrives out of order, revisions, rebuilds and the 0002 migration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import nacl.signing
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import migrations
from peer.errors import ValidationError
from peer.log._events import Event, make_event
from storage import Store
from storage._store import DB_FILE
from storage.queries._curriculum import (
    list_feedback,
    list_problems,
    list_submissions,
    next_attempt,
    progress,
)
from storage.schema import in_metadata, metadata


@attrs.define
class Member:
    """One peer: a key and its own store, authoring through Store.append."""

    key: nacl.signing.SigningKey
    store: Store

    @property
    def id(self) -> bytes:
        return bytes(self.key.verify_key)

    def publish(self, title: str = "Sum", **extra: Any) -> Event:
        body = {"title": title, "statement": "Add.", "examples": [], "tags": []} | extra
        return self.store.append(self.key, "problem", body)

    def submit(self, problem: bytes, attempt: int | None = None) -> Event:
        body = {
            "problem": problem,
            "attempt": attempt or next_attempt(self.store, self.id, problem),
            "language": "python",
            "solution": "print(5)\n",
            "checks": [{"passed": True, "detail": ""}],
        }
        return self.store.append(self.key, "submission", body)

    def review(self, submission: bytes, verdict: str = "accept", **extra: Any) -> Event:
        body = {"submission": submission, "verdict": verdict, "comment": "ok"} | extra
        return self.store.append(self.key, "feedback", body)

    def log(self) -> list[bytes]:
        return self.store.events_range(self.id, 0, 10_000)

    def receive(self, *others: Member) -> None:
        for other in others:
            self.store.ingest(other.log())


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[list[Store]]:
    opened: list[Store] = []
    yield opened
    for store in opened:
        store.close()


@pytest.fixture
def class_of(tmp_path: Path, stores: list[Store]) -> Any:
    def make(count: int) -> list[Member]:
        members = []
        for _ in range(count):
            store = Store.open(tmp_path / f"peer{len(stores)}")
            stores.append(store)
            members.append(Member(nacl.signing.SigningKey.generate(), store))
        return members

    return make


def views(store: Store, instructor: bytes) -> tuple[Any, ...]:
    return (
        list_problems(store, instructor),
        list_submissions(store),
        list_feedback(store, instructor),
    )


def continue_log(key: nacl.signing.SigningKey, last: Event, kind: str, body: Any) -> Event:
    """The author's next event, made without the author's store checking it."""
    return make_event(key, seq=last.seq + 1, prev=last.id, ts=last.ts + 1, kind=kind, body=body)


def test_feedback_before_submission_before_problem_links_as_each_arrives(class_of: Any) -> None:
    teacher, alice, bob, late = class_of(4)
    problem = teacher.publish()
    alice.receive(teacher)
    submission = alice.submit(problem.id)
    bob.receive(teacher, alice)
    review = bob.review(submission.id, "revise", score=40)

    late.receive(bob)
    assert views(late.store, teacher.id) == ([], [], [])
    late.receive(alice)
    assert list_submissions(late.store) == []  # its problem has not arrived
    assert list_feedback(late.store, teacher.id) == []
    late.receive(teacher)

    problems, submissions, reviews = views(late.store, teacher.id)
    assert [p.id for p in problems] == [problem.id]
    assert problems[0].official
    assert [s.id for s in submissions] == [submission.id]
    assert [(f.id, f.role, f.verdict, f.score) for f in reviews] == [
        (review.id, "peer", "revise", 40)
    ]
    assert views(late.store, teacher.id) == views(bob.store, teacher.id)


def test_roles_come_from_keys(class_of: Any) -> None:
    teacher, alice, bob = class_of(3)
    official, practice = teacher.publish("Official"), alice.publish("Practice")
    for member in (teacher, alice, bob):
        member.receive(teacher, alice)
    submission = bob.submit(official.id)
    for member in (teacher, alice):
        member.receive(bob)
    teacher.review(submission.id)
    alice.review(submission.id)
    bob.receive(teacher, alice)
    problems = list_problems(bob.store, teacher.id)
    assert [(p.id, p.official) for p in problems] == [(official.id, True), (practice.id, False)]
    roles = {f.reviewer: f.role for f in list_feedback(bob.store, teacher.id)}
    assert roles == {teacher.id: "instructor", alice.id: "peer"}
    [standing, _] = progress(bob.store, teacher.id, [bob.id])
    assert standing.accepted and standing.attempts == 1


def test_attempt_numbers_are_checked_at_receipt_on_every_peer(class_of: Any) -> None:
    teacher, alice, one_by_one, at_once = class_of(4)
    problem = teacher.publish()
    first = alice.submit(problem.id)
    with pytest.raises(ValidationError, match="next attempt at that problem is 2"):
        alice.submit(problem.id, attempt=3)
    assert alice.store.heads()[alice.id] == first.seq  # nothing stored
    skipped = continue_log(alice.key, first, "submission", _submission_body(problem.id, 3))

    raws = [*alice.log(), skipped.raw]
    at_once.store.ingest(raws)
    refusals = [one_by_one.store.ingest([raw]).rejected for raw in raws]
    assert "attempt is 3" in refusals[-1][0]
    assert one_by_one.store.heads() == at_once.store.heads() == {alice.id: first.seq}


def _submission_body(problem: bytes, attempt: int) -> dict[str, Any]:
    return {
        "problem": problem,
        "attempt": attempt,
        "language": "python",
        "solution": "print(5)\n",
        "checks": [],
    }


def test_a_problem_may_supersede_only_its_authors_own_problem(class_of: Any) -> None:
    teacher, alice, holder, stranger = class_of(4)
    original = teacher.publish()
    alice.receive(teacher)
    holder.receive(teacher)
    with pytest.raises(ValidationError, match="not an earlier problem by the same author"):
        alice.publish("Hijack", supersedes=original.id)
    assert alice.log() == []  # nothing was stored
    note = alice.store.append(alice.key, "chat", {"room": "general", "text": "hi"})
    hijack = continue_log(
        alice.key,
        note,
        "problem",
        {
            "title": "Hijack",
            "statement": "x",
            "examples": [],
            "tags": [],
            "supersedes": original.id,
        },
    )
    for peer in (holder, stranger):  # with and without the superseded problem: same verdict
        result = peer.store.ingest([note.raw, hijack.raw])
        assert [e.id for e in result.stored] == [note.id]
        assert "not an earlier problem by the same author" in result.rejected[0]
    assert list_problems(holder.store, teacher.id)[0].title == "Sum"


def test_revisions_are_listed_once_under_the_newest(class_of: Any) -> None:
    teacher, alice, bob = class_of(3)
    first = teacher.publish("Sum", tags=["intro"])
    second = teacher.publish("Sum, revised", supersedes=first.id)
    third = teacher.publish("Sum, again", supersedes=first.id)  # any revision of the thread
    other = teacher.publish("Product")
    for member in (alice, bob):
        member.receive(teacher)
    [newest, product] = list_problems(alice.store, teacher.id)
    assert (newest.id, newest.revision_of, newest.root) == (third.id, first.id, first.id)
    assert product.id == other.id
    submission = alice.submit(first.id)
    again = alice.submit(first.id)
    assert again.body["attempt"] == 2
    bob.receive(alice)
    review = bob.review(submission.id, "revise")
    revised = bob.review(submission.id, "accept", score=90, supersedes=review.id)
    alice.receive(bob)
    [listed] = list_feedback(alice.store, teacher.id)
    assert (listed.id, listed.revision_of, listed.verdict) == (revised.id, review.id, "accept")
    assert [s.problem_title for s in list_submissions(alice.store)] == ["Sum, again"] * 2
    assert list_submissions(alice.store, problem_root=second.body["supersedes"]) != []


def test_feedback_rules_about_the_reviewers_own_log(class_of: Any) -> None:
    teacher, alice, bob, peer = class_of(4)
    problem = teacher.publish()
    alice.receive(teacher)
    bob.receive(teacher)
    own = alice.submit(problem.id)
    bobs = bob.submit(problem.id)
    alice.receive(bob)
    with pytest.raises(ValidationError, match="own submission"):
        alice.review(own.id)
    mine = alice.review(bobs.id)
    with pytest.raises(ValidationError, match="different submission"):
        alice.review(bytes(32), supersedes=mine.id)

    forged_own = continue_log(alice.key, mine, "feedback", {**mine.body, "submission": own.id})
    peer.store.ingest([*teacher.log(), *bob.log()])
    result = peer.store.ingest([*alice.log(), forged_own.raw])
    assert "own submission" in result.rejected[0]
    assert peer.store.heads()[alice.id] == mine.seq

    teacher.receive(bob)
    bobs_review = teacher.review(bobs.id)
    stolen = continue_log(alice.key, mine, "feedback", {**mine.body, "supersedes": bobs_review.id})
    fresh = class_of(1)[0]
    fresh.receive(teacher)
    result = fresh.store.ingest([*alice.log(), stolen.raw])
    assert "not earlier feedback by the same author" in result.rejected[0]


def test_rebuilding_projections_gives_the_same_answers(class_of: Any) -> None:
    teacher, alice, bob = class_of(3)
    problem = teacher.publish(due=1_900_000_000_000)
    teacher.publish("Sum 2", supersedes=problem.id)
    alice.receive(teacher)
    submission = alice.submit(problem.id)
    bob.receive(teacher, alice)
    bob.review(submission.id, score=70)
    before = views(bob.store, teacher.id)
    assert bob.store.rebuild_projections() == bob.store.event_count()
    assert views(bob.store, teacher.id) == before


def _alembic(conn: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["connection"] = conn
    return config


def test_the_schema_objects_match_the_migrations(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    engine = create_engine(f"sqlite:///{tmp_path / DB_FILE}")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": in_metadata})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_an_old_store_is_upgraded_and_backfilled(tmp_path: Path, class_of: Any) -> None:
    teacher, alice = class_of(2)
    problem = teacher.publish()
    alice.receive(teacher)
    submission = alice.submit(problem.id)
    teacher.receive(alice)
    teacher.review(submission.id, "revise")
    expected = views(teacher.store, teacher.id)
    data_dir = tmp_path / "peer0"
    teacher.store.close()

    engine = create_engine(f"sqlite:///{data_dir / DB_FILE}")
    with engine.begin() as conn:
        command.downgrade(_alembic(conn), "0001")
    with engine.connect() as conn:
        tables = set(conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars())
    engine.dispose()
    assert "problems" not in tables

    reopened = Store.open(data_dir)
    try:
        assert views(reopened, teacher.id) == expected
        assert len(expected[2]) == 1
    finally:
        reopened.close()
