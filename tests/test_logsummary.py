"""Repeated conditions are summarised once per interval (a movable fake clock drives time)."""

from __future__ import annotations

import io
import logging

import attrs

from peer.logsummary import FOR_PEOPLE, RepeatLimiter, Tally, describe_span, is_for_people


@attrs.define
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_tally_says_one_line_per_kind_per_interval() -> None:
    clock, said = FakeClock(), []
    tally = Tally(said.append, interval=60.0, clock=clock)
    for _ in range(12):
        tally.count("beacons from another class dropped")
        clock.advance(1)
    tally.count("forged beacons dropped", 3)
    assert said == []  # nothing before the interval is over
    clock.advance(48)  # 60 s after the first
    assert tally.flush_due()
    assert said == [
        "12 beacons from another class dropped in the last minute",
        "3 forged beacons dropped in the last minute",
    ]
    assert not tally.flush_due()  # nothing counted since: nothing more to say
    assert tally.pending == {}


def test_tally_says_a_closed_interval_at_the_next_count_and_is_honest_about_a_long_gap() -> None:
    clock, said = FakeClock(), []
    tally = Tally(said.append, interval=60.0, clock=clock)
    tally.count("frames refused")
    clock.advance(300)  # five quiet minutes: the summary covers all of them
    tally.count("frames refused")
    assert said == ["1 frames refused in the last 5 minutes"]
    assert tally.pending == {"frames refused": 1}


def test_describe_span() -> None:
    assert describe_span(10, 10) == "the last 10 seconds"
    assert describe_span(3, 60) == "the last minute"
    assert describe_span(61, 60) == "the last 2 minutes"


def _limited(clock: FakeClock) -> tuple[logging.Logger, RepeatLimiter, io.StringIO]:
    out = io.StringIO()
    target = logging.StreamHandler(out)
    target.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    limiter = RepeatLimiter(target, interval=60.0, burst=3, clock=clock, where="all in x.log")
    logger = logging.getLogger(f"test.logsummary.{id(limiter)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(limiter)
    return logger, limiter, out


def test_repeat_limiter_lets_a_few_through_then_summarises_per_message() -> None:
    clock = FakeClock()
    logger, limiter, out = _limited(clock)
    for i in range(500):
        logger.warning("refused connection with %s: %s", "10.0.0.9", f"bad MAC #{i}")
    logger.info("connected to peer 1234", extra=FOR_PEOPLE)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # three of the flood, the one other message
    assert lines[-1] == "INFO connected to peer 1234"
    clock.advance(60)
    limiter.flush_due()
    summary = out.getvalue().splitlines()[4:]
    assert summary == [
        "WARNING 497 more like “refused connection with 10.0.0.9: bad MAC #3” in the last minute"
        " (all in x.log)"
    ]
    # A new interval: the message is shown again, a few times.
    logger.warning("refused connection with %s: %s", "10.0.0.9", "again")
    assert out.getvalue().splitlines()[-1].endswith("again")


def test_repeat_limiter_says_what_is_pending_when_closed() -> None:
    clock = FakeClock()
    logger, limiter, out = _limited(clock)
    for _ in range(5):
        logger.info("dropped a datagram")
    limiter.close()
    assert out.getvalue().splitlines()[-1].startswith("INFO 2 more like “dropped a datagram”")


def test_for_people_marks_records() -> None:
    record = logging.LogRecord("x", logging.INFO, "", 0, "m", None, None)
    assert not is_for_people(record)
    record.__dict__.update(FOR_PEOPLE)
    assert is_for_people(record)
