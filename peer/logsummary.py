"""Repeated conditions told once per interval, not once per packet.

A peer on a busy network meets the same condition again and again (beacons of another class,
a stranger retrying a handshake); one log line each fills a terminal and a disk. :class:`Tally`
counts them per kind and says "12 beacons from another class dropped in the last minute" once
per interval; :class:`RepeatLimiter` puts the same bound on any log handler: the first few
records of each message per interval pass, the rest are counted and summarised.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Final

import attrs

#: ``extra=`` for log records a person at the terminal should see although they are INFO
#: (someone joined or left): ``log.info("...", extra=FOR_PEOPLE)``.
FOR_PEOPLE: Final[Mapping[str, object]] = {"for_people": True}


def is_for_people(record: logging.LogRecord) -> bool:
    return bool(getattr(record, "for_people", False))


def describe_span(seconds: float, interval: float) -> str:
    """'the last minute', 'the last 10 seconds', 'the last 3 minutes': a span no shorter
    than the interval (everything counted happened within it)."""
    seconds = max(seconds, interval)
    if seconds < 59.5:
        return f"the last {round(seconds)} seconds"
    minutes = math.ceil(seconds / 60 - 0.01)
    return "the last minute" if minutes == 1 else f"the last {minutes} minutes"


@attrs.define(eq=False)
class Tally:
    """Counts per kind of condition; one line per kind that occurred, once per interval.

    ``count`` is cheap (a dict update) and says a closed interval's summary as soon as it is
    called after the interval ends; call :meth:`flush_due` now and then (a Trio task, with
    ``clock=trio.current_time``) to say it even when nothing more happens. Pure: no I/O.
    """

    emit: Callable[[str], None]
    interval: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _counts: dict[str, int] = attrs.field(factory=dict)
    _since: float | None = None

    def count(self, what: str, n: int = 1) -> None:
        """Note ``n`` more of ``what`` (a plural phrase: "beacons from another class dropped")."""
        now = self.clock()
        self.flush_due(now)
        if self._since is None:
            self._since = now
        self._counts[what] = self._counts.get(what, 0) + n

    @property
    def pending(self) -> dict[str, int]:
        """What has been counted and not yet said."""
        return dict(self._counts)

    def flush_due(self, now: float | None = None) -> bool:
        """Say the summary if the interval since the first uncounted one has passed."""
        now = self.clock() if now is None else now
        if self._since is None or now - self._since < self.interval:
            return False
        self.flush(now)
        return True

    def flush(self, now: float | None = None) -> None:
        """Say what was counted (one line per kind, most frequent first) and start afresh."""
        now = self.clock() if now is None else now
        counts, since = self._counts, self._since
        self._counts, self._since = {}, None
        if since is None:
            return
        span = describe_span(now - since, self.interval)
        for what, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            self.emit(f"{n} {what} in {span}")


class RepeatLimiter(logging.Handler):
    """Passes the first ``burst`` records of each message (per logger, level and format
    string) in each interval to ``target``; counts the rest and sends one summary record
    per message when the interval ends."""

    def __init__(
        self,
        target: logging.Handler,
        *,
        interval: float = 60.0,
        burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        where: str = "",
    ) -> None:
        super().__init__(level=target.level)
        self.target = target
        self.burst = burst
        self.clock = clock
        self._where = where
        self._seen: dict[tuple[str, int, str], int] = {}
        #: How a suppressed message is named in its summary: its first suppressed instance.
        self._what: dict[tuple[str, int, str], str] = {}
        self._level = logging.INFO  # of the summary: the highest level it stands for
        self._window_start = clock()
        self._tally = Tally(self._say, interval, clock)

    @property
    def interval(self) -> float:
        return self._tally.interval

    def emit(self, record: logging.LogRecord) -> None:
        now = self.clock()
        self._roll(now)
        key = (record.name, record.levelno, str(record.msg))
        seen = self._seen[key] = self._seen.get(key, 0) + 1
        if seen <= self.burst:
            self.target.handle(record)
            return
        self._level = max(self._level, record.levelno)
        what = self._what.setdefault(key, f"more like “{_shorten(record.getMessage())}”")
        self._tally.count(what)

    def flush_due(self) -> None:
        """End the interval if it is over (call it now and then: nothing may be logged)."""
        self._roll(self.clock())

    def _roll(self, now: float) -> None:
        if now - self._window_start >= self.interval:
            self._tally.flush(now)
            self._seen.clear()
            self._what.clear()
            self._level = logging.INFO
            self._window_start = now

    def _say(self, line: str) -> None:
        text = line + (f" ({self._where})" if self._where else "")
        record = logging.LogRecord("peerclass.summary", self._level, "", 0, text, None, None)
        self.target.handle(record)

    def close(self) -> None:
        """Say what is pending, then close the target too (this handler owns it)."""
        self._tally.flush()
        self.target.close()
        super().close()


def _shorten(text: str, limit: int = 80) -> str:
    text = text.splitlines()[0] if text else text
    return text if len(text) <= limit else text[: limit - 1] + "…"
