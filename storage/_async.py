"""The store as the running peer sees it: every call in a worker thread, one writer at a time,
and a watch that wakes the gossip when anything (here or in another process) adds events."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs
import nacl.signing
import trio

from peer.errors import StorageError
from peer.log import Event
from storage._health import StoreHealth
from storage._ingest import IngestResult
from storage._names import ClassNames
from storage._notify import credentials_check, prepare_notify_dir, reachable, sender_is_me
from storage._store import EventRef, Store, StoredEvent

T = TypeVar("T")
#: How often the peer looks for events written by other processes (e.g. ``chat send``) where
#: they cannot wake it up; and how often it looks anyway, in case a wake-up was lost.
POLL_INTERVAL = 0.2
FALLBACK_POLL_INTERVAL = 5.0


class RunSync(Protocol):
    """How a blocking store call runs off the event loop, within ``limiter``."""

    def __call__(
        self, fn: Callable[..., T], *args: Any, limiter: trio.CapacityLimiter
    ) -> Awaitable[T]: ...


async def in_worker_thread(fn: Callable[..., T], *args: Any, limiter: trio.CapacityLimiter) -> T:
    """The running peer's way (the default): a worker thread, so a slow disk never stalls
    the event loop. Tests on an autojump clock pass one that calls ``fn`` inline instead, so
    that a store call takes no virtual time and the clock jumps only past real timers."""
    return await trio.to_thread.run_sync(fn, *args, limiter=limiter)


@attrs.define(eq=False)
class StoreWatch:
    """The highest local id stored, and a way to wait for it to grow."""

    max_local_id: int = 0
    _changed: trio.Event = attrs.field(factory=trio.Event)
    #: Events to set at the next advance (see :meth:`wake_on_advance`).
    _wakers: set[trio.Event] = attrs.field(factory=set)

    def advance(self, local_id: int) -> None:
        """Note that the store now holds up to ``local_id``, waking whoever waits for it: the gossip
        and the live pages sleep on this instead of polling the database."""
        if local_id > self.max_local_id:
            self.max_local_id = local_id
            self._changed.set()
            self._changed = trio.Event()
            for waker in self._wakers:
                waker.set()
            self._wakers.clear()

    def wake_on_advance(self, event: trio.Event) -> None:
        """Set ``event`` at the next advance: a task that already sleeps on an event of its own
        (a session's wake-up) waits for both without a task per wait."""
        self._wakers.add(event)

    def forget(self, event: trio.Event) -> None:
        """No longer set ``event`` (its waiter woke for another reason)."""
        self._wakers.discard(event)

    async def wait_beyond(self, cursor: int) -> None:
        """Return once something past ``cursor`` is stored."""
        while self.max_local_id <= cursor:
            await self._changed.wait()


@attrs.define(eq=False)
class _SharedRead:
    """One read that several tasks asked for at once; the first runs it, the rest wait."""

    done: trio.Event = attrs.field(factory=trio.Event)
    value: Any = None
    ok: bool = False


def _health_of(async_store: AsyncStore) -> StoreHealth:
    return StoreHealth(async_store.store.data_dir)


@attrs.define(eq=False)
class AsyncStore:
    """Non-blocking facade over :class:`Store` for Trio code."""

    store: Store
    watch: StoreWatch = attrs.field(factory=StoreWatch)
    _writer: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(1))
    _readers: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(4))
    #: Failed writes (a full or read-only disk) and the backoff they call for.
    health: StoreHealth = attrs.field(default=attrs.Factory(_health_of, takes_self=True))
    #: Where every store call runs (see :func:`in_worker_thread`).
    run_sync: RunSync = in_worker_thread
    #: Reads shared by the sessions that wake on the same new event (see :meth:`_read_shared`),
    #: good until anything is written or the store grows.
    _shared: dict[tuple[Any, ...], _SharedRead] = attrs.field(factory=dict)
    _shared_at: int = -1

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        done: tuple[T, int] = await self._run_write(self._then_look, fn, *args)
        self.watch.advance(done[1])
        return done[0]

    def _then_look(self, fn: Callable[..., T], *args: Any) -> tuple[T, int]:
        """``fn(*args)`` and then the highest local id stored, in one worker-thread hop (the
        look that :meth:`refresh` takes in a second one)."""
        result = fn(*args)
        return result, self.store.max_local_id()

    async def _run_write(self, fn: Callable[..., T], *args: Any) -> T:
        """One write in the writer thread; its outcome is noted in :attr:`health`."""
        try:
            result = await self.run_sync(fn, *args, limiter=self._writer)
        except StorageError as exc:
            self.health.failed(exc)
            raise
        finally:
            self._shared = {}  # whatever was read before this write may have changed
        self.health.succeeded()
        return result

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.run_sync(fn, *args, limiter=self._readers)

    async def _read_shared(self, key: tuple[Any, ...], fn: Callable[..., list[T]]) -> list[T]:
        """``fn()`` once for every task that asks the same ``key`` while the store is unchanged:
        when an event arrives, each of a peer's sessions wakes and reads the same page of
        refs and the same raw bytes; one worker-thread hop answers them all. Each caller gets
        its own list."""
        if self._shared_at != self.watch.max_local_id:
            self._shared, self._shared_at = {}, self.watch.max_local_id
        entry = self._shared.get(key)
        if entry is None:
            entry = self._shared[key] = _SharedRead()
            try:
                entry.value = await self._read(fn)
                entry.ok = True
            finally:
                entry.done.set()
                if not entry.ok and self._shared.get(key) is entry:
                    del self._shared[key]
        else:
            await entry.done.wait()
            if not entry.ok:  # the first asker failed (or was cancelled): ask for ourselves
                return await self._read(fn)
        return list(entry.value)

    async def refresh(self) -> None:
        """Pick up events stored by anyone (this process or another) since we last looked."""
        self.watch.advance(await self._read(self.store.max_local_id))

    async def watch_other_writers(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Notice events other processes append (the CLI): they send a wake-up datagram to
        the store's notify address; a slow poll covers a lost one. Runs until cancelled;
        started (``nursery.start``) once it listens and has looked for the first time."""
        address = self.store.notify_address
        if (
            not isinstance(address, str)
            or not hasattr(trio.socket, "AF_UNIX")
            or not await trio.to_thread.run_sync(prepare_notify_dir, address)
        ):
            await self._poll(POLL_INTERVAL, task_status)
            return
        with trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_DGRAM) as sock:
            try:
                ancillary = credentials_check(sock)  # type: ignore[arg-type]
                await trio.Path(address).unlink(missing_ok=True)
                with reachable(address) as where:
                    await sock.bind(where)
            except OSError:  # cannot listen here: fall back to polling
                await self._poll(POLL_INTERVAL, task_status)
                return
            await self.refresh()
            task_status.started()
            while True:
                with trio.move_on_after(FALLBACK_POLL_INTERVAL):
                    # Only this user's datagrams wake us; anyone else's are read and dropped.
                    while True:
                        _data, extra, _flags, _addr = await sock.recvmsg(64, ancillary)
                        if sender_is_me(extra):
                            break
                await self.refresh()

    async def _poll(self, interval: float, task_status: trio.TaskStatus[None]) -> None:
        await self.refresh()
        task_status.started()
        while True:
            await trio.sleep(interval)
            await self.refresh()

    async def ingest(self, raws: Sequence[bytes]) -> IngestResult:
        """Store events received from other peers, in the writer thread so receiving never blocks
        the event loop or races our own authoring; the watch wakes only when something new was
        stored, so a batch of duplicates costs no round of gossip."""
        result, top = await self._run_write(self._ingest_then_look, raws)
        self.watch.advance(top)
        return result

    def _ingest_then_look(self, raws: Sequence[bytes]) -> tuple[IngestResult, int]:
        """Ingest, and where it stored anything, the highest local id now (one thread hop);
        a batch of duplicates changes nothing worth a look."""
        result = self.store.ingest(raws)
        return result, self.store.max_local_id() if result.stored else 0

    async def append(
        self, key: nacl.signing.SigningKey, kind: str, body: Mapping[str, Any]
    ) -> Event:
        """Author one event as the next in our own log, in the writer thread (one writer at a time,
        a full disk noted in :attr:`health`), and wake the watchers so it is gossiped at once."""
        return await self._write(self.store.append, key, kind, body)

    async def append_many(
        self, key: nacl.signing.SigningKey, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[Event]:
        """Author several events in one durable transaction (group commit): lines typed faster than
        the disk syncs share one sync instead of queueing behind it."""
        return await self._write(self.store.append_many, key, items)

    async def record_peer(self, peer_id: bytes, address: str | None, *, connected: bool) -> None:
        """Note whom we met and whether we are still connected, as a write through the one writer:
        ``peerclass peers``, presence and the board read it."""
        await self._run_write(lambda: self.store.record_peer(peer_id, address, connected=connected))

    async def set_reach(self, doc: str) -> None:
        """:meth:`Store.set_reach` as a write through the one writer."""
        await self._run_write(self.store.set_reach, doc)

    async def forget_strangers(self) -> int:
        """:meth:`Store.forget_strangers` as a write: one writer at a time, and a full disk
        noted in :attr:`health` like every other write."""
        return await self._run_write(self.store.forget_strangers)

    async def block_authoring(self, kind: str, reason: str, seconds: int) -> None:
        """:meth:`Store.block_authoring` as a write (see :meth:`forget_strangers`)."""
        await self._run_write(self.store.block_authoring, kind, reason, seconds)

    async def note_own_log_elsewhere(self, seq: int, reason: str) -> None:
        """:meth:`Store.note_own_log_elsewhere` as a write (see :meth:`forget_strangers`)."""
        await self._run_write(self.store.note_own_log_elsewhere, seq, reason)

    async def strangers_among(self, peer_ids: Sequence[bytes]) -> set[bytes]:
        """Which of ``peer_ids`` are no member we know, read off the event loop: the node asks this
        each round it checks its connections, and SQLite must not stall the loop."""
        return await self._read(self.store.strangers_among, peer_ids)

    async def names(self) -> ClassNames:
        """Display names as the roster gives them, read off the event loop: the console and the web
        UI name authors without blocking."""
        return await self._read(self.store.names)

    async def query(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking read, ``fn(store, *args)`` (a ``storage.queries`` function, say),
        in a reader thread: the one door by which async code reads what this facade has no
        method for, so no caller reaches past it to the blocking store."""
        return await self._read(fn, self.store, *args)

    async def roster_state(self, peer_id: bytes) -> str | None:
        """``member``, ``pending`` or ``removed`` for ``peer_id``, read off the event loop: the
        session asks it for every peer that connects."""
        return await self._read(self.store.roster_state, peer_id)

    async def heads(self) -> dict[bytes, int]:
        """The version vector, read off the event loop: what a sync tells the other side so it sends
        only what is missing."""
        return await self._read(self.store.heads)

    async def vector(self) -> dict[bytes, tuple[int, bytes]]:
        """The version vector with head ids, read off the event loop: equal seqs with different ids
        reveal a fork during a sync."""
        return await self._read(self.store.vector)

    async def fork_points(self) -> dict[bytes, int]:
        """Where each forked log may differ, read off the event loop: a sync resends from there
        rather than from the start."""
        return await self._read(self.store.fork_points)

    async def forked_authors(self) -> set[bytes]:
        """Authors caught forking their log, read off the event loop: the console and pages warn
        about them."""
        return await self._read(self.store.forked_authors)

    async def events_after(self, cursor: int, limit: int) -> list[StoredEvent]:
        """A page of events after a cursor, read off the event loop: followers page through arrivals
        without holding the whole history."""
        return await self._read(self.store.events_after, cursor, limit)

    async def refs_after(self, cursor: int, limit: int) -> list[EventRef]:
        """A page of event positions without their bytes, read off the event loop: the gossip first
        decides what it needs, then fetches only that with :meth:`raws`."""
        return await self._read_shared(
            ("refs_after", cursor, limit), functools.partial(self.store.refs_after, cursor, limit)
        )

    async def raws(self, local_ids: Sequence[int]) -> list[bytes]:
        """The bytes of the chosen events, read off the event loop: the second half of
        :meth:`refs_after`."""
        ids = tuple(local_ids)
        return await self._read_shared(("raws", ids), functools.partial(self.store.raws, ids))

    async def events_range(self, author: bytes, after_seq: int, limit: int) -> list[bytes]:
        """A page of one author's log after a seq, read off the event loop: how a catch-up fills
        another peer's gap one page at a time."""
        return await self._read(self.store.events_range, author, after_seq, limit)
