"""Roster roles (DESIGN §10, issue 22): co-instructors act with the founder's authority,
concurrent entries resolve the same way on every peer, and "the instructor" to sealing is
every instructor and TA on the roster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.queries import get_submission, list_feedback, list_problems, students
from tests.storage.privacy_world import World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.make(tmp_path, ["founder", "co", "ta", "alice", "bob"])
    w.admit("alice", "bob")
    founder = w["founder"]
    for who, role in (("co", "instructor"), ("ta", "ta")):
        founder.append("roster", {"action": "admit", "peer": w[who].id, "name": who, "role": role})
    w.sync()
    yield w
    w.close()


def entry_event(w: World, who: str, on: str) -> bytes:
    roster = w[who].store.roster()
    assert roster is not None
    event = roster.entries[w[on].id].event
    assert event is not None
    return event


def test_a_co_instructor_admits_removes_and_publishes_officially(world: World) -> None:
    co = world["co"]
    after = entry_event(world, "co", "bob")
    co.append("roster", {"action": "remove", "peer": world["bob"].id, "after": after})
    newcomer = World.make(world["alice"].path.parent / "x", ["carol"])["carol"]
    co.append(
        "roster", {"action": "admit", "peer": newcomer.id, "name": "carol", "role": "student"}
    )
    problem = co.append(
        "problem", {"title": "Sum", "statement": "Add.", "examples": [], "tags": []}
    )
    world.sync()
    for who in ("founder", "alice", "ta"):
        roster = world[who].store.roster()
        assert roster is not None
        assert roster.state(world["bob"].id) == "removed"
        assert roster.state(newcomer.id) == "member"
        [p] = list_problems(world[who].store, world["founder"].id)
        assert (p.id, p.official) == (problem, True)
    # A student's problem is practice, and staff are not students.
    people = set(students(world["alice"].store, world["founder"].id))
    assert people == {world["alice"].id, world["bob"].id, newcomer.id}
    newcomer.store.close()


def test_an_identity_admitted_by_a_non_instructor_gets_nothing(world: World) -> None:
    # Alice (a student) and the TA sign roster entries: neither has authority over the roster.
    world["alice"].append(
        "roster", {"action": "admit", "peer": world["bob"].id, "name": "b", "role": "instructor"}
    )
    world["ta"].append("roster", {"action": "remove", "peer": world["alice"].id})
    world.sync()
    roster = world["founder"].store.roster()
    assert roster is not None
    assert (roster.role(world["bob"].id), roster.role(world["alice"].id)) == ("student", "student")


def test_concurrent_entries_founder_wins_then_causal_order_decides(world: World) -> None:
    bob = world["bob"].id
    # Neither saw the other's entry: the founder's wins, on every peer.
    world["co"].append("roster", {"action": "remove", "peer": bob})
    world["founder"].append(
        "roster", {"action": "admit", "peer": bob, "name": "Robert", "role": "student"}
    )
    world.sync()
    for who in ("founder", "co", "alice"):
        roster = world[who].store.roster()
        assert roster is not None
        assert (roster.state(bob), roster.entries[bob].name) == ("member", "Robert")
    # The co-instructor's entry that names the founder's as seen follows it, and wins.
    after = entry_event(world, "co", "bob")
    world["co"].append("roster", {"action": "remove", "peer": bob, "after": after})
    world.sync()
    for who in ("founder", "alice"):
        roster = world[who].store.roster()
        assert roster is not None and roster.state(bob) == "removed"


def test_removed_co_instructor_loses_authority_after_its_removal(world: World) -> None:
    after = entry_event(world, "founder", "co")
    world["founder"].append("roster", {"action": "remove", "peer": world["co"].id, "after": after})
    world.sync()
    world["co"].append("problem", {"title": "Late", "statement": "x", "examples": [], "tags": []})
    world["co"].append("roster", {"action": "remove", "peer": world["alice"].id})
    world.sync()
    roster = world["alice"].store.roster()
    assert roster is not None and roster.state(world["alice"].id) == "member"
    [p] = list_problems(world["alice"].store, world["founder"].id)
    assert not p.official


def test_sealed_to_the_instructor_means_every_instructor_and_ta(world: World) -> None:
    problem = world["founder"].append(
        "problem", {"title": "Sum", "statement": "Add.", "examples": [], "tags": []}
    )
    world.sync()
    body = {"problem": problem, "attempt": 1, "language": "python", "solution": "print(1)#s1"}
    sub = world["alice"].append("submission", {**body, "checks": []})
    world.sync()
    for who in ("founder", "co", "ta", "alice"):
        found = get_submission(world[who].store, sub)
        assert found is not None and found.solution == "print(1)#s1", who
    found = get_submission(world["bob"].store, sub)
    assert found is not None and found.solution is None
    # The co-instructor grades: its verdict is an instructor's, sealed to all staff + author.
    world["co"].append(
        "feedback", {"submission": sub, "verdict": "accept", "score": 90, "comment": "good"}
    )
    world.sync()
    for who in ("founder", "ta", "alice"):
        [f] = list_feedback(world[who].store, world["founder"].id)
        assert (f.role, f.verdict) == ("instructor", "accept"), who
    [f] = list_feedback(world["bob"].store, world["founder"].id)
    assert f.verdict is None


def test_old_admits_without_new_fields_stay_valid(world: World) -> None:
    roster = world["bob"].store.roster()
    assert roster is not None
    assert roster.role(world["alice"].id) == "student"
    assert roster.role(world["founder"].id) == "instructor"
    assert set(roster.staff()) == {world[n].id for n in ("founder", "co", "ta")}
