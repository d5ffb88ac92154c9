"""Whether the running peer can write its store, and how long to wait when it cannot.

A full or read-only disk is no reason to stop the peer, nor to retry at full speed: the
first failed write is told once (one line), later ones are only counted (one line a minute in
the log file), the network waits with an exponential, capped backoff, and everything resumes
on its own when a write succeeds again (nothing is lost: what was not stored is fetched again).
"""

from __future__ import annotations

import logging
from pathlib import Path

import attrs
import trio

from peer.errors import StorageError
from storage._errors import probe

log = logging.getLogger("peerclass.store")

RETRY_MIN = 1.0
RETRY_MAX = 60.0
#: Later failures are counted and told once per this many seconds (in the log file only).
COUNT_INTERVAL = 60.0
#: ``peer.logsummary.FOR_PEOPLE`` (storage imports nothing of ``peer`` but log and errors).
_FOR_PEOPLE = {"for_people": True}


@attrs.define(eq=False)
class StoreHealth:
    """Failed writes in, backoff out. Call it from Trio code (it reads Trio's clock)."""

    data_dir: Path | None = None
    retry_min: float = RETRY_MIN
    retry_max: float = RETRY_MAX
    #: The latest storage error since the last successful write; None while all is well.
    error: StorageError | None = None
    _delay: float = 0.0
    _retry_at: float = 0.0
    _told: bool = False
    _uncounted: int = 0
    _counting_since: float = 0.0

    def failed(self, exc: StorageError) -> None:
        """A write failed: back off further, and say so if this is the first time."""
        now = trio.current_time()
        self.error = exc
        self._delay = min(self.retry_max, max(self.retry_min, self._delay * 2))
        self._retry_at = now + self._delay
        if self._told:
            self._count(now)
            return
        self._told = True
        log.error("cannot write to the store, so the peer waits and retries: %s", exc)

    def succeeded(self) -> None:
        """A write worked: all is well again."""
        if self._told:
            self._count(trio.current_time(), final=True)
            log.info("the store can be written again; carrying on", extra=_FOR_PEOPLE)
        self.error = None
        self._delay = 0.0
        self._told = False

    def backing_off(self) -> bool:
        """Whether it is too early to try writing again (refuse work that would write)."""
        return self.error is not None and trio.current_time() < self._retry_at

    @property
    def delay(self) -> float:
        """The current backoff in seconds (0 while all is well)."""
        return self._delay

    async def wait_writable(self) -> None:
        """Return at once while all is well; otherwise when the backoff is over and the data
        dir takes a small test write (each failed test doubles the wait, up to the cap)."""
        while self.error is not None:
            await trio.sleep_until(self._retry_at)
            if self.error is None or self.data_dir is None:
                return
            if await trio.to_thread.run_sync(probe, self.data_dir) is None:
                return
            self._count(trio.current_time())
            self._delay = min(self.retry_max, max(self.retry_min, self._delay * 2))
            self._retry_at = trio.current_time() + self._delay

    def _count(self, now: float, *, final: bool = False) -> None:
        """One more failure; one line per interval says how many (never one per failure)."""
        if not final:
            if self._uncounted == 0:
                self._counting_since = now
            self._uncounted += 1
        if self._uncounted and (final or now - self._counting_since >= COUNT_INTERVAL):
            log.info(
                "%d more failed writes to the store in the last %.0f s",
                self._uncounted,
                now - self._counting_since,
            )
            self._uncounted = 0
