"""The roster and sealed curriculum in one peer's store: what each identity can read, who
counts, and what a removed identity leaves behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import peer.identity
from peer.log import seal_body
from storage import Reader, Store
from storage import _reader as reader_module
from storage.queries import get_submission, list_feedback, list_submissions, progress
from tests.storage.privacy_world import World

SOLUTION = "print(sum(map(int, input().split())))  # alice-secret-solution"
COMMENT = "carol-secret-comment: well done"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.make(tmp_path, ["teacher", "alice", "bob", "carol"])
    w.admit("alice", "bob", "carol")
    w.sync()
    yield w
    w.close()


def publish(w: World, review: str = "instructor") -> bytes:
    body = {"title": "Sum", "statement": "Add.", "examples": [], "tags": []}
    if review != "instructor":
        body["review"] = review
    return w["teacher"].append("problem", body)


def submit(w: World, who: str, problem: bytes, solution: str = SOLUTION) -> bytes:
    attempt = len(list_submissions(w[who].store, author=w[who].id)) + 1
    body = {"problem": problem, "attempt": attempt, "language": "python", "solution": solution}
    return w[who].append("submission", {**body, "checks": [{"passed": True, "detail": ""}]})


def test_a_students_database_holds_no_classmates_solution_verdict_score_or_comment(
    world: World,
) -> None:
    problem = publish(world)
    world.sync()
    sub = submit(world, "alice", problem)
    world.sync()
    world["carol"].append(
        "feedback", {"submission": sub, "verdict": "revise", "score": 37, "comment": COMMENT}
    )
    world["teacher"].append(
        "feedback", {"submission": sub, "verdict": "accept", "score": 91, "comment": "teacher-ok"}
    )
    world.sync()
    bob = world["bob"].dump()
    for secret in ("alice-secret-solution", "carol-secret-comment", "teacher-ok", "revise"):
        assert secret not in bob
    assert "'accept'" not in bob and ", 91," not in bob and ", 37," not in bob
    teacher = world["teacher"].dump()
    for secret in ("alice-secret-solution", "carol-secret-comment", "teacher-ok"):
        assert secret in teacher
    # Bob still sees that the attempt and the feedback exist, without their content.
    [seen] = list_submissions(world["bob"].store)
    assert (seen.id, seen.author, seen.attempt, seen.readable) == (sub, world["alice"].id, 1, False)
    assert seen.language is None and get_submission(world["bob"].store, sub).solution is None
    verdicts = {
        f.reviewer: f.verdict for f in list_feedback(world["bob"].store, world["teacher"].id)
    }
    # Carol could not read the work she judged: her blind verdict is listed nowhere (issue 18).
    assert verdicts == {world["teacher"].id: None}
    # Alice (the author) and Carol (the reviewer) read what is theirs to read.
    assert get_submission(world["alice"].store, sub).solution == SOLUTION
    alice_sees = list_feedback(world["alice"].store, world["teacher"].id)
    assert {f.comment for f in alice_sees} == {"teacher-ok"}
    assert get_submission(world["carol"].store, sub).solution is None


def test_peer_review_opens_submissions_to_classmates_who_submitted_only(world: World) -> None:
    problem = publish(world, review="peers")
    world.sync()
    alice_sub = submit(world, "alice", problem)
    bob_sub = submit(world, "bob", problem, "print(2)  # bob-solution")
    world.sync()
    # The instructor's peer (it can open every submission) shares the keys; the authors'
    # own peers would do the same, and a duplicate share is harmless.
    assert world["teacher"].do_duties() == 2
    assert world["alice"].do_duties() == 1  # its own submission, to Bob
    world.sync()
    assert world["teacher"].do_duties() == 0 and world["alice"].do_duties() == 0
    assert get_submission(world["bob"].store, alice_sub).solution == SOLUTION
    assert get_submission(world["alice"].store, bob_sub).solution == "print(2)  # bob-solution"
    assert get_submission(world["carol"].store, alice_sub).solution is None
    assert "alice-secret-solution" not in world["carol"].dump()
    # Carol submits too: now she may read the others, and they hers.
    carol_sub = submit(world, "carol", problem, "print(3)  # carol-solution")
    world.sync()
    world["carol"].do_duties()
    world["teacher"].do_duties()
    world.sync()
    assert get_submission(world["carol"].store, alice_sub).solution == SOLUTION
    assert get_submission(world["bob"].store, carol_sub).solution == "print(3)  # carol-solution"


def test_open_invite_sybils_cannot_move_a_verdict(tmp_path: Path) -> None:
    w = World.make(tmp_path, ["teacher", "alice", "bob", "sybil1", "sybil2", "sybil3"])
    w.admit("alice", "bob")
    for sybil in ("sybil1", "sybil2", "sybil3"):  # joined with the class invite: pending
        w[sybil].append("join", {"name": sybil})
    problem = publish(w)
    w.sync()
    sub = submit(w, "alice", problem, "print(0)  # wrong")
    w.sync()
    w["bob"].append("feedback", {"submission": sub, "verdict": "revise", "comment": "wrong"})
    for sybil in ("sybil1", "sybil2", "sybil3"):
        w[sybil].append("feedback", {"submission": sub, "verdict": "accept", "comment": "fine!"})
    w.sync()
    for viewer in ("teacher", "alice"):
        [row] = progress(w[viewer].store, w["teacher"].id, [w["alice"].id])
        assert not row.accepted
        # No one here could read Alice's work, Bob included: no blind verdict counts (18).
        assert row.verdicts == ()
    assert w["teacher"].store.roster_state(w["sybil1"].id) == "pending"
    assert w["teacher"].store.names()[w["sybil1"].id] == "sybil1 (pending)"
    w.close()


def test_a_removed_student_keeps_earlier_history_and_nothing_later_counts(world: World) -> None:
    problem = publish(world)
    world.sync()
    earlier = submit(world, "carol", problem, "print(1)  # before removal")
    world.sync()
    world["teacher"].append("roster", {"action": "remove", "peer": world["carol"].id})
    world.sync()
    later = submit(world, "carol", problem, "print(2)  # after removal")
    world.sync()
    teacher = world["teacher"].store
    assert [s.id for s in list_submissions(teacher, author=world["carol"].id)] == [earlier]
    assert teacher.roster_state(world["carol"].id) == "removed"
    assert teacher.event_by_id(later) is not None  # the log itself is kept, not rewritten
    # Nothing new is sealed to a removed identity: Alice's feedback reaches only her readers.
    alice_sub = submit(world, "alice", problem)
    world.sync()
    bobs = world["bob"].append(
        "feedback", {"submission": alice_sub, "verdict": "accept", "comment": "x"}
    )
    world.sync()
    event = teacher.event_by_id(bobs)
    assert len(event.body["sealed"]["keys"]) == 3  # reviewer, author, instructor
    # A removed reviewer's verdicts no longer count.
    world["carol"].append(
        "feedback", {"submission": alice_sub, "verdict": "revise", "comment": "y"}
    )
    world.sync()
    reviewers = {f.reviewer for f in list_feedback(teacher, world["teacher"].id)}
    assert world["carol"].id not in reviewers


def test_names_come_from_the_roster_not_from_profiles(world: World) -> None:
    world["bob"].append("profile", {"name": "teacher", "role": "instructor"})
    world.sync()
    names = world["alice"].store.names()
    assert names[world["bob"].id] == "bob"
    assert names[world["teacher"].id] == "teacher"


def test_an_invalid_inner_body_is_marked_invalid_for_its_readers(world: World) -> None:
    problem = publish(world)
    world.sync()
    inner = {"language": "NOT A LANGUAGE", "solution": "x", "checks": []}
    envelope, _ = seal_body(inner, [world["alice"].id, world["teacher"].id])
    sub = world["alice"].append(
        "submission", {"problem": problem, "attempt": 1, "sealed": envelope}
    )
    world.sync()
    [row] = list_submissions(world["teacher"].store)
    assert (row.id, row.invalid, row.readable, row.language) == (sub, True, False, None)
    [other] = list_submissions(world["bob"].store)
    assert (other.invalid, other.readable) == (False, False)  # bob cannot tell: not his


def test_unsealed_events_of_older_stores_stay_readable_to_everyone(tmp_path: Path) -> None:
    w = World.make(tmp_path, ["teacher", "alice"])
    problem = publish(w)
    w.sync()
    legacy = Store.open(w["alice"].path)  # opened with no reader: appends stay unsealed
    body = {"problem": problem, "attempt": 1, "language": "python", "solution": "print(9)"}
    raw = legacy.append(w["alice"].key, "submission", {**body, "checks": []}).raw
    legacy.close()
    alice_log = w["alice"].store.events_range(w["alice"].id, 0, 100)
    w["teacher"].store.ingest([*alice_log, raw])
    [row] = list_submissions(w["teacher"].store)
    assert (row.readable, row.language) == (True, "python")
    w.close()


def test_the_store_reopened_as_another_reader_rebuilds_what_it_can_read(tmp_path: Path) -> None:
    w = World.make(tmp_path, ["teacher", "alice"])
    problem = publish(w)
    w.sync()
    sub = submit(w, "alice", problem)
    w.sync()
    path = w["teacher"].path
    w.close()
    blind = Store.open(path)  # no identity files in this test dir: no reader
    assert get_submission(blind, sub).solution is None
    blind.close()
    again = Store.open(path, reader=Reader(w["teacher"].key, w["teacher"].id))
    assert get_submission(again, sub).solution == SOLUTION
    again.close()


def test_the_reader_loads_the_files_peer_identity_writes() -> None:
    assert reader_module.IDENTITY_FILE == peer.identity.IDENTITY_FILE
    assert reader_module.CLASS_FILE == peer.identity.CLASS_FILE
