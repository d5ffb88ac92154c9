"""Issue 18 in one process: removal pins a log whatever the order of arrival and whatever the
events' timestamps; witnessed time decides lateness, whatever the author's clock says; a
checkpoint is bounded, validated, and cannot go behind its witness's earlier one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.errors import ValidationError
from peer.log import DEFAULT_SKEW_MS, MAX_CHECKPOINT_HEADS, hlc, make_event, seal_key, validate_body
from peer.report import Request, build_report, gather, render_md
from storage.projections import known_key
from storage.queries import (
    chat_log,
    get_submission,
    list_feedback,
    list_submissions,
    progress,
    review_queue,
    token_hash,
)
from storage.queries._roster import pending_duties
from tests.storage.privacy_world import World

HOUR_MS = 3_600_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.make(tmp_path, ["teacher", "alice", "bob", "carol"])
    w.admit("alice", "bob", "carol")
    w.sync()
    yield w
    w.close()


def publish(w: World, due: int | None = None, policy: str = "mark") -> bytes:
    body = {"title": "Sum", "statement": "Add.", "examples": [], "tags": []}
    if due is not None:
        body |= {"due": due, "late_policy": policy}
    return w["teacher"].append("problem", body)


def submit(w: World, who: str, problem: bytes, solution: str = "print(1)\n") -> bytes:
    attempt = len(list_submissions(w[who].store, author=w[who].id)) + 1
    body = {"problem": problem, "attempt": attempt, "language": "python", "solution": solution}
    return w[who].append("submission", {**body, "checks": [{"passed": True, "detail": ""}]})


def remove(w: World, who: str) -> None:
    held = w["teacher"].store.vector()[w[who].id]
    until = {"seq": held[0], "id": held[1]}
    w["teacher"].append("roster", {"action": "remove", "peer": w[who].id, "until": until})


def own_events(w: World, who: str, after: int) -> list[bytes]:
    return w[who].store.events_range(w[who].id, after, 1000)


def set_clock_back(monkeypatch: pytest.MonkeyPatch, ms: int) -> None:
    """This process's wall clock ``ms`` behind, as ``faketime -f -Nh`` does to a process."""
    real = hlc.wall_ms
    monkeypatch.setattr(hlc, "wall_ms", lambda: real() - ms)


def test_a_removed_students_later_events_count_nowhere_whoever_relays_them_and_whenever_stamped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = publish(world)
    world.sync()
    earlier = submit(world, "carol", problem, "print(1)  # before removal")
    world.sync()
    pin = world["carol"].store.heads()[world["carol"].id]
    remove(world, "carol")
    # Carol goes on writing with her clock set back four hours, so her events are stamped
    # before her removal; only her friend Alice takes them in (a relay), and Bob holds them
    # before the removal reaches him.
    set_clock_back(monkeypatch, 4 * HOUR_MS)
    world["carol"].append("chat", {"room": "general", "text": "after my removal"})
    later = submit(world, "carol", problem, "print(2)  # after removal")
    monkeypatch.undo()
    later_raws = own_events(world, "carol", pin)
    assert (
        world["carol"].store.event_by_id(later).ts
        < world["teacher"]
        .store.event_by_id(world["teacher"].store.vector()[world["teacher"].id][1])
        .ts
    )  # backdated: the old rule (by timestamp) would have taken it
    assert world["alice"].store.ingest(later_raws).rejected == ()
    assert world["bob"].store.ingest(later_raws).rejected == ()  # before the removal
    world.sync()
    for name in ("teacher", "alice", "bob"):
        store = world[name].store
        assert store.event_by_id(later) is not None  # kept in the log, which stays a chain
        mine = [s.id for s in list_submissions(store, author=world["carol"].id)]
        assert mine == [earlier], name
        assert all(m.text != "after my removal" for m in chat_log(store)), name
    queue = review_queue(world["teacher"].store, world["teacher"].id)
    assert later not in {s.id for s in queue}
    # A rebuild replays the logs in arrival order and reaches the same rows.
    world["bob"].store.rebuild_projections()
    assert [s.id for s in list_submissions(world["bob"].store, author=world["carol"].id)] == [
        earlier
    ]


def test_a_removal_never_frees_the_token_and_its_reuse_is_refused(world: World) -> None:
    teacher = world["teacher"]
    hashed = token_hash(b"t" * 16)
    teacher.store.record_invite(hashed, "Dana")
    admit = {"action": "admit", "peer": world["bob"].id, "name": "Dana", "role": "student"}
    teacher.append("roster", admit | {"invite": hashed})
    remove(world, "bob")
    roster = teacher.store.roster()
    assert roster is not None and hashed in roster.used_invites()


def test_an_old_removal_without_a_pin_still_reads(world: World) -> None:
    world["teacher"].append("roster", {"action": "remove", "peer": world["bob"].id})
    world.sync()
    assert world["alice"].store.roster_state(world["bob"].id) == "removed"
    validate_body("roster", {"action": "remove", "peer": world["bob"].id})
    with pytest.raises(ValidationError, match="until"):
        validate_body("roster", {"action": "remove", "peer": world["bob"].id, "until": 3})


# ---- witnessed time ---------------------------------------------------------------------


def checkpoint(w: World, who: str, time: int) -> None:
    """``who`` signs what it holds now (every head but its own), at ``time``."""
    me = w[who].id
    held = [[a, s, i] for a, (s, i) in sorted(w[who].store.vector().items()) if a != me]
    w[who].append("checkpoint", {"time": time, "heads": held})


def late_of(w: World, viewer: str) -> dict[bytes, bool]:
    return {s.id: s.late for s in list_submissions(w[viewer].store)}


def test_witnessed_time_decides_lateness_whatever_the_authors_clock_says(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = hlc.wall_ms()
    due = now + 10_000
    problem = publish(world, due=due, policy="refuse-grade")
    world.sync()
    honest = submit(world, "alice", problem)
    world.sync()
    checkpoint(world, "teacher", due - 5_000)  # the witness held Alice's work before the due
    checkpoint(world, "teacher", due + DEFAULT_SKEW_MS + 1)  # and passed the due time
    world.sync()
    # Bob submits afterwards with his clock four hours back: his claim is long before the due.
    set_clock_back(monkeypatch, 4 * HOUR_MS)
    faked = submit(world, "bob", problem)
    monkeypatch.undo()
    assert hlc.to_ms(world["bob"].store.event_by_id(faked).ts) < due
    world.sync()
    for viewer in ("teacher", "alice", "bob"):
        assert late_of(world, viewer) == {honest: False, faked: True}, viewer
    # A later checkpoint covers Bob's work: attested after the due, shown beside the claim.
    checkpoint(world, "teacher", due + 20 * 60_000)
    world.sync()
    found = {s.id: s for s in list_submissions(world["teacher"].store)}
    assert found[faked].late and found[faked].attested == due + 20 * 60_000
    assert found[faked].days_late == 1 and found[honest].days_late == 0  # the penalty's days
    assert found[faked].attested_apart == due + 20 * 60_000
    assert found[honest].attested == due - 5_000 and found[honest].attested_apart is None
    # The report shows the witnessed time beside the claimed one where they differ.
    request = Request(world["teacher"].id, "instructor", "class")
    report = render_md(build_report(gather(world["teacher"].store, world["teacher"].id), request))
    assert report.count("· witnessed ") == 1 and "**late**" in report


def test_honest_work_a_witness_held_in_time_is_on_time_even_from_a_fast_clock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = hlc.wall_ms()
    due = now + 10_000
    problem = publish(world, due=due)
    world.sync()
    set_clock_back(monkeypatch, -3 * HOUR_MS)  # three hours fast: the claim says late
    fast = submit(world, "alice", problem)
    monkeypatch.undo()
    world.sync()
    assert late_of(world, "teacher") == {fast: True}  # no witness yet: the claim admits it
    checkpoint(world, "teacher", due - 1_000)
    world.sync()
    assert late_of(world, "teacher") == {fast: False}


def test_members_witness_only_where_the_class_says_so(world: World) -> None:
    due = hlc.wall_ms() + 10_000
    problem = publish(world, due=due)
    world.sync()
    work = submit(world, "alice", problem)
    world.sync()
    checkpoint(world, "bob", due - 1_000)  # a classmate held it in time
    checkpoint(world, "teacher", due + 120_000)  # the instructor only after the due
    world.sync()
    assert late_of(world, "teacher") == {work: True}
    world["teacher"].append("settings", {"witnesses": "members", "skew_ms": 0})
    world.sync()
    assert late_of(world, "teacher") == {work: False}
    assert late_of(world, "alice") == {work: False}


def test_a_checkpoint_cannot_vouch_for_an_event_it_never_saw(world: World) -> None:
    due = hlc.wall_ms() + 10_000
    problem = publish(world, due=due)
    world.sync()
    head = world["alice"].store.vector()[world["alice"].id]
    # Bob (a witness here) names Alice's next seq before she writes it, with a made-up id.
    world["teacher"].append("settings", {"witnesses": "members", "skew_ms": 0})
    world["bob"].append(
        "checkpoint", {"time": due - 5_000, "heads": [[world["alice"].id, head[0] + 1, b"x" * 32]]}
    )
    checkpoint(world, "teacher", due + 1)  # the skew is 0 here
    world.sync()
    work = submit(world, "alice", problem)
    world.sync()
    assert late_of(world, "teacher") == {work: True}


def test_checkpoints_are_bounded_and_cannot_go_behind_their_own_chain(world: World) -> None:
    key = b"k" * 32
    too_many = [[bytes([i % 256, i // 256]) * 16, 1, key] for i in range(MAX_CHECKPOINT_HEADS + 1)]
    bad_bodies = [
        {"time": 1, "heads": too_many},
        {"time": 1, "heads": [[key, 1, key], [key, 2, key]]},  # an author twice
        {"time": 1, "heads": [[key, 0, key]]},
        {"time": 0, "heads": []},
        {"time": 1, "heads": [[key, 1]]},
        {"time": 1, "heads": [], "extra": 1},
    ]
    for body in bad_bodies:
        with pytest.raises(ValidationError):
            validate_body("checkpoint", body)
    teacher = world["teacher"]
    alice = world["alice"].id
    teacher.append("checkpoint", {"time": 5_000, "heads": [[alice, 3, key]]})
    prev = teacher.store.vector()[teacher.id]
    behind = [
        {"time": 4_000, "heads": []},  # its time goes back
        {"time": 6_000, "heads": [[alice, 2, key]]},  # a head goes back
    ]
    for body in behind:
        forged = make_event(
            teacher.key, seq=prev[0] + 1, prev=prev[1], ts=hlc.next_ts(0), kind="checkpoint",
            body=body,
        )  # fmt: skip
        result = world["bob"].store.ingest(
            [*teacher.store.events_range(teacher.id, 0, 1000), forged.raw]
        )
        assert any("behind" in r for r in result.rejected), result.rejected
        assert world["bob"].store.event_by_id(forged.id) is None


def test_the_instructors_peer_refuses_a_join_with_a_revoked_class_invite(world: World) -> None:
    teacher = world["teacher"]
    teacher.store.replace_open_invite(b"n" * 16)
    world["bob"].append("join", {"name": "Bob again"})  # a join with the old (tokenless) invite
    world.sync()
    duties = pending_duties(teacher.store)
    assert duties == []  # Bob is a member: nothing to refuse
    newcomer = World.make(teacher.path.parent / "late", ["x", "eve"])["eve"]
    newcomer.append("join", {"name": "Eve"})
    teacher.store.ingest(newcomer.store.events_range(newcomer.id, 0, 100))
    (duty,) = pending_duties(teacher.store)
    assert duty.body["action"] == "remove" and duty.body["peer"] == newcomer.id
    assert "replaced" in duty.body["reason"]


# ---- only readers review ------------------------------------------------------------------


def test_blind_verdicts_forged_with_the_api_never_count(world: World) -> None:
    problem = publish(world)  # instructor review: Alice's work is sealed to her and the teacher
    world.sync()
    wrong = submit(world, "alice", problem, "print(0)  # wrong")
    world.sync()
    # Bob and Carol cannot read it; with the store's own API they sign "accept" anyway, and
    # Carol even signs a share of it to herself (with a key she does not have).
    for who in ("bob", "carol"):
        world[who].append("feedback", {"submission": wrong, "verdict": "accept", "comment": "ok"})
    world["carol"].append(
        "share",
        {"event": wrong, "to": world["carol"].id, "key": seal_key(b"k" * 32, world["carol"].id)},
    )
    world.sync()
    for viewer in ("teacher", "alice", "bob", "carol"):
        store = world[viewer].store
        [row] = progress(store, world["teacher"].id, [world["alice"].id])
        assert not row.accepted and row.verdicts == (), viewer
        assert list_feedback(store, world["teacher"].id) == [], viewer
    # Once the teacher's peer shares it with Bob, Bob's later verdict counts.
    key = known_key_of(world, "teacher", wrong)
    world["teacher"].append(
        "share", {"event": wrong, "to": world["bob"].id, "key": seal_key(key, world["bob"].id)}
    )
    world.sync()
    world["bob"].append("feedback", {"submission": wrong, "verdict": "revise", "comment": "no"})
    world.sync()
    reviewers = [f.reviewer for f in list_feedback(world["teacher"].store, world["teacher"].id)]
    assert reviewers == [world["bob"].id]


def known_key_of(w: World, who: str, event: bytes) -> bytes:
    with w[who].store.read() as conn:
        key = known_key(conn, event)
    assert key is not None
    return key


def test_switching_to_peer_review_shares_only_work_made_after_the_switch(world: World) -> None:
    body = {"title": "Sum", "statement": "Add.", "examples": [], "tags": []}
    first = world["teacher"].append("problem", body)
    world.sync()
    before = submit(world, "alice", first, "print(1)  # before the switch")
    world.sync()
    world["teacher"].append("problem", body | {"supersedes": first, "review": "peers"})
    world.sync()
    bobs = submit(world, "bob", first, "print(2)  # bob after the switch")
    world.sync()
    after = submit(world, "alice", first, "print(3)  # alice after the switch")
    world.sync()
    for _ in range(2):
        for who in ("teacher", "alice", "bob"):
            world[who].do_duties()
        world.sync()
    bob = world["bob"].store
    assert get_submission(bob, before).solution is None  # made before: never shared
    assert get_submission(bob, after).solution == "print(3)  # alice after the switch"
    assert get_submission(world["alice"].store, bobs).solution == "print(2)  # bob after the switch"
    assert "before the switch" not in world["bob"].dump()
