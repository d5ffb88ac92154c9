"""Refused peers are redialled with exponential backoff, at most once a minute after repeated
refusals (issue 18): the rule on a movable clock, the dialer on Trio's autojump clock, and
what counts as a refusal between two real nodes on loopback."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from peer.identity import load_membership
from peer.net import Node, NodeConfig
from peer.net._redial import Outcome, Redial
from storage import AsyncStore, Store
from tests.fixtures_core import wait_for
from tests.helpers import make_class
from tests.net.test_node import config, running

ADDR = ("127.0.0.1", 47999)


def _attempts(redial: Redial, outcome: Outcome, until: float) -> list[float]:
    """Dial ``ADDR`` whenever it is due, each dial ending with ``outcome``; the start times."""
    now, times = 0.0, []
    while now < until:
        assert redial.due(ADDR, now)
        times.append(now)
        delay = redial.attempt(ADDR, now)
        redial.ended(ADDR, outcome)
        assert not redial.due(ADDR, now + delay - 1e-6)
        now += delay
    return times


def test_repeated_refusals_slow_to_one_try_a_minute() -> None:
    times = _attempts(Redial.from_config(NodeConfig()), "refused", until=3600.0)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] < 2.0  # the first retry is soon: a refusal may be passing
    assert all(later >= earlier * 0.8 for earlier, later in itertools.pairwise(gaps))
    settled = [g for g in gaps if g >= 60.0]
    assert gaps[len(gaps) - len(settled) :] == settled  # once a minute, it stays so
    assert len(gaps) - len(settled) <= 8  # after a handful of refusals
    assert len(times) <= 8 + 60  # an hour of refusals: about one try a minute


def test_an_unreachable_peer_keeps_the_shorter_cap_and_a_session_resets() -> None:
    redial = Redial.from_config(NodeConfig())
    times = _attempts(redial, "unreachable", until=600.0)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 30.0 <= max(gaps) <= 36.0
    redial.ended(ADDR, "ran")
    assert redial.due(ADDR, times[-1])  # a session that ran: dial again at once
    assert redial.attempt(ADDR, times[-1]) < 2.0


async def test_the_dialer_tries_a_refusing_peer_at_most_once_a_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    """The node's dial loop on the autojump clock, past the backoff's length: every dial of
    the static peer connects and is refused."""
    dirs = make_class(tmp_path, 1)
    store = Store.open(dirs.students[0])
    dials: list[float] = []

    async def connect(*_addr: Any) -> trio.testing.MemorySendStream:
        return trio.testing.MemorySendStream()

    async def refused(_self: Node, *_args: Any, **_kwargs: Any) -> Outcome:
        dials.append(trio.current_time())
        return "refused"

    monkeypatch.setattr(trio, "open_tcp_stream", connect)
    try:
        node = Node(
            config(static_peers=(ADDR,)),
            load_membership(dirs.students[0]),
            AsyncStore(store),
            lambda _line: None,
        )
        monkeypatch.setattr(Node, "_run_connection", refused)
        with trio.move_on_after(1800):  # half an hour of the mock clock
            async with trio.open_nursery() as nursery:
                nursery.start_soon(node._dial_loop, nursery)
    finally:
        store.close()
    gaps = [b - a for a, b in itertools.pairwise(dials)]
    assert len(dials) >= 10  # it kept trying, and the clock ran past the backoff
    assert all(g >= 60.0 for g in gaps[8:])  # at most one try a minute once refused often
    assert len(dials) <= 8 + 30


async def test_a_goodbye_right_after_the_handshake_is_a_refusal(tmp_path: Path) -> None:
    """A peer that refuses us after the handshake (as the instructor's peer does a removed
    student) says only goodbye: that is no session, so the backoff is not reset."""
    dirs = make_class(tmp_path, 1)
    refusing = config(max_connections=0)  # every session refused with a goodbye
    async with running([dirs.instructor, dirs.students[0]], [refusing, config()]) as nodes:
        teacher, student = nodes
        with trio.fail_after(30):
            stream = await trio.open_tcp_stream("127.0.0.1", teacher.node.listen_port)
            outcome = await student.node._run_connection(
                stream, initiator=True, host="127.0.0.1", port=teacher.node.listen_port
            )
    assert outcome == "refused"


async def test_a_session_that_ran_is_not_a_refusal(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 1)
    async with running([dirs.instructor, dirs.students[0]], [config(), config()]) as nodes:
        teacher, student = nodes
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                result: list[Outcome] = []

                async def dial() -> None:
                    stream = await trio.open_tcp_stream("127.0.0.1", teacher.node.listen_port)
                    result.append(
                        await student.node._run_connection(
                            stream, initiator=True, host="127.0.0.1", port=teacher.node.listen_port
                        )
                    )

                nursery.start_soon(dial)

                async def heard_the_teacher() -> bool:
                    found = student.node.mesh.sessions.get(teacher.peer_id)
                    return found is not None and found[0].stats.messages_received > 0

                await wait_for(heard_the_teacher)
                teacher.node.mesh.sessions[student.peer_id][0].close("the test is over")
    assert result == ["ran"]
