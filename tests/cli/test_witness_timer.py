"""The witness timers of a running peer (issue 18), on Trio's mock clock moved by hand, with a
wall clock that moves with it: one checkpoint at once when events arrive, then at most one per
interval while they keep arriving; one exactly at each due time and one when its skew has
passed, so work that reached the witness in time is on time and work that came later is late.

Time moves only when the test jumps it, and the test waits (in real time, bounded) for what
the timers wrote before it jumps again, so a loaded machine changes nothing but the wait."""

from __future__ import annotations

import time
from collections.abc import Callable
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
BASE = 1_900_000_000_000


def checkpoint_times(world: World) -> list[int]:
    teacher = world["teacher"]
    raws = teacher.store.events_range(teacher.id, 0, 1000)
    return [e.body["time"] for e in map(decode_event, raws) if e.kind == "checkpoint"]


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait in real time (bounded) for ``condition``; the mock clock stands still meanwhile."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await trio.to_thread.run_sync(time.sleep, 0.01)


def teacher_membership(world: World) -> Membership:
    teacher = world["teacher"]
    return Membership(teacher.key, ClassInfo(b"c" * 16, "C", b"s" * 32, teacher.id))


def test_checkpoints_while_events_arrive_and_exactly_at_each_due_time(tmp_path: Path) -> None:
    clock = trio.testing.MockClock()  # rate 0, no autojump: only the test moves time

    async def main() -> None:
        world = World.make(tmp_path, ["teacher", "alice", "bob"])
        world.admit("alice", "bob")
        teacher, alice = world["teacher"], world["alice"]
        due = BASE + 100_000
        body = {"title": "T", "statement": "s", "examples": [], "tags": [], "due": due}
        problem = teacher.append("problem", body)
        store = AsyncStore(teacher.store)

        def wall() -> int:
            return BASE + round(trio.current_time() * 1000)

        async def bring(who: str) -> None:
            person = world[who]
            await store.ingest(person.store.events_range(person.id, 0, 1000))

        def submit(who: str) -> bytes:
            body = {"problem": problem, "attempt": 1, "language": "python", "solution": "x"}
            checks = [{"passed": True, "detail": ""}]
            return world[who].append("submission", {**body, "checks": checks})

        def written(at: int) -> Callable[[], bool]:
            return lambda: at in checkpoint_times(world)

        async with trio.open_nursery() as nursery:
            me = teacher_membership(world)
            nursery.start_soon(lambda: keep_checkpoints(store, me, interval=INTERVAL, wall=wall))
            await bring("alice")
            await until(written(BASE), "a checkpoint at once")  # t = 0
            alice.append("chat", {"room": "general", "text": "hello"})
            await bring("alice")
            clock.jump(INTERVAL)  # the next waits for the interval: t = 30
            await until(written(BASE + 30_000), "a checkpoint one interval later")
            on_time = submit("alice")
            await bring("alice")
            clock.jump(INTERVAL)  # t = 60
            await until(written(BASE + 60_000), "a checkpoint holding Alice's work")
            clock.jump(40)  # t = 100: the due time
            await until(written(due), "a checkpoint exactly at the due time")
            clock.jump(DEFAULT_SKEW_MS / 1000 + 0.001)  # t = 160.001: the skew has passed
            await until(written(due + DEFAULT_SKEW_MS + 1), "a checkpoint past the skew")
            clock.jump(9.999)  # t = 170
            late = submit("bob")
            await bring("bob")
            await until(written(BASE + 170_000), "a checkpoint holding Bob's late work")
            nursery.cancel_scope.cancel()
        times = checkpoint_times(world)
        past_skew = due + DEFAULT_SKEW_MS + 1
        assert times == [BASE, BASE + 30_000, BASE + 60_000, due, past_skew, BASE + 170_000]
        found = {s.id: s for s in list_submissions(teacher.store)}
        assert not found[on_time].late and found[on_time].attested == BASE + 60_000
        assert found[late].late and found[late].attested == BASE + 170_000
        world.close()

    trio.run(main, clock=clock)
