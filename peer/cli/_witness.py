"""The running peer as a witness (DESIGN §10, issue 18): it signs ``checkpoint`` events
saying which heads it held at its own time, so lateness is decided by when a witness held a
submission rather than by its author's clock.

Two timers: while events arrive, at most one checkpoint every ``interval`` seconds (the first
at once); and one exactly when each due time passes, even if nothing moved, so that work a
witness did not hold by then is known to be late. A peer that is no witness (a student, where
the class lets only the instructor's peer witness) writes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import trio

from peer.errors import PeerclassError
from peer.identity import Membership
from peer.log import hlc
from storage import AsyncStore
from storage.queries import CHECKPOINT_INTERVAL, checkpoint_body, is_witness, upcoming_dues

log = logging.getLogger("peerclass.witness")

#: With no due time ahead, look again this often (seconds) in case a problem gets one.
IDLE_LOOK = 60.0
#: While events arrive, the due times are looked up again at most this often (seconds).
RELOOK = 1.0


async def keep_checkpoints(
    store: AsyncStore,
    membership: Membership,
    *,
    interval: float = CHECKPOINT_INTERVAL,
    wall: Callable[[], int] = hlc.wall_ms,
) -> None:
    """Write this witness's checkpoints until cancelled. ``wall`` is the witness's clock in
    milliseconds (tests pass one that moves with Trio's mock clock)."""
    lock = trio.Lock()  # the two timers never sign at once (each reads what the other wrote)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_while_events_arrive, store, membership, lock, interval, wall)
        nursery.start_soon(_at_due_times, store, membership, lock, wall)


async def _write(
    store: AsyncStore, membership: Membership, lock: trio.Lock, wall: Callable[[], int], *,
    always: bool,
) -> bool:  # fmt: skip
    """Sign a checkpoint if this peer witnesses and (unless ``always``) something moved;
    whether one was written."""
    async with lock:
        try:
            if not await store.query(is_witness):
                return False
            now = wall()
            body = await store.query(lambda s: checkpoint_body(s, time_ms=now, always=always))
            if body is None:
                return False
            await store.append(membership.signing_key, "checkpoint", body)
            return True
        except PeerclassError as exc:  # a full disk, a blocked log: the next round tries again
            log.warning("could not write a checkpoint: %s", exc)
            return False


async def _while_events_arrive(
    store: AsyncStore,
    membership: Membership,
    lock: trio.Lock,
    interval: float,
    wall: Callable[[], int],
) -> None:
    last = -math.inf
    cursor = -1
    while True:
        if cursor >= 0:
            await store.watch.wait_beyond(cursor)
        await trio.sleep_until(last + interval)  # at most one per interval
        # Whatever is stored up to here is in the heads the checkpoint reads next; what
        # arrives while it is written wakes the next round (our own checkpoint too, once:
        # that round finds nothing moved and writes nothing).
        cursor = store.watch.max_local_id
        started = trio.current_time()
        if await _write(store, membership, lock, wall, always=False):
            last = started


async def _at_due_times(
    store: AsyncStore, membership: Membership, lock: trio.Lock, wall: Callable[[], int]
) -> None:
    cursor = -1
    done = wall()  # due times up to here are past already
    while True:
        cursor = store.watch.max_local_id
        dues = await store.query(upcoming_dues, done)
        delay = IDLE_LOOK if not dues else max(0.0, (dues[0] - wall()) / 1000)
        with trio.move_on_after(delay):
            await store.watch.wait_beyond(cursor)  # a new problem may bring an earlier due
            # Look again at most once a second however fast chat arrives; the due time's
            # deadline still cuts this short.
            await trio.sleep(RELOOK)
            continue
        if dues and wall() >= dues[0]:
            await _write(store, membership, lock, wall, always=True)
            done = dues[0]
