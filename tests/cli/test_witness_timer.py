"""The witness timers of a running peer (issue 18), on Trio's mock clock with a wall clock that
moves with it: one checkpoint at once when events arrive, then at most one per interval while
they keep arriving; one exactly at each due time and one when its skew has passed, so work
that reached the witness in time is on time and work that came later is late."""

from __future__ import annotations

import itertools
from pathlib import Path

import trio
import trio.testing

from peer.cli._witness import keep_checkpoints
from peer.identity import ClassInfo, Membership
from peer.log import DEFAULT_SKEW_MS, decode_event
from storage import AsyncStore
from storage.queries import list_submissions
from tests.storage.privacy_world import World

INTERVAL = 30.0


def checkpoint_times(world: World) -> list[int]:
    teacher = world["teacher"]
    raws = teacher.store.events_range(teacher.id, 0, 1000)
    return [e.body["time"] for e in map(decode_event, raws) if e.kind == "checkpoint"]


def test_checkpoints_while_events_arrive_and_exactly_at_each_due_time(
    tmp_path: Path,
) -> None:
    clock = trio.testing.MockClock(autojump_threshold=0.02)  # store threads are waited for

    async def main() -> None:
        world = World.make(tmp_path, ["teacher", "alice", "bob"])
        world.admit("alice", "bob")
        teacher, alice = world["teacher"], world["alice"]
        base = 1_900_000_000_000

        def wall() -> int:
            return base + round(trio.current_time() * 1000)

        due = base + 100_000
        problem = teacher.append(
            "problem",
            {"title": "T", "statement": "s", "examples": [], "tags": [], "due": due},
        )
        store = AsyncStore(teacher.store)

        async def bring(who: str) -> None:
            person = world[who]
            await store.ingest(person.store.events_range(person.id, 0, 1000))

        def submit(who: str) -> bytes:
            body = {"problem": problem, "attempt": 1, "language": "python", "solution": "x"}
            checks = [{"passed": True, "detail": ""}]
            return world[who].append("submission", {**body, "checks": checks})

        with trio.fail_after(600):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    lambda: keep_checkpoints(
                        store, teacher_membership(world), interval=INTERVAL, wall=wall
                    )
                )
                await bring("alice")
                await trio.sleep(5)
                alice.append("chat", {"room": "general", "text": "hello"})
                await bring("alice")
                await trio.sleep(45)  # t = 50
                on_time = submit("alice")
                await bring("alice")
                await trio.sleep(120)  # t = 170: past the due time and its skew
                late = submit("bob")
                await bring("bob")
                await trio.sleep(60)
                nursery.cancel_scope.cancel()
        times = checkpoint_times(world)
        assert due in times and due + DEFAULT_SKEW_MS in times, times
        arrivals = [t for t in times if t not in (due, due + DEFAULT_SKEW_MS)]
        assert arrivals[0] == base  # at once
        assert all(b - a >= INTERVAL * 1000 for a, b in itertools.pairwise(arrivals))
        assert times == sorted(times)
        found = {s.id: s for s in list_submissions(teacher.store)}
        assert not found[on_time].late and found[on_time].attested is not None
        assert found[on_time].attested <= due
        assert found[late].late
        world.close()

    trio.run(main, clock=clock)


def teacher_membership(world: World) -> Membership:
    teacher = world["teacher"]
    klass = ClassInfo(b"c" * 16, "C", b"s" * 32, teacher.id)
    return Membership(teacher.key, klass)
