"""A late joiner in a busy class (issue 21): served once, not once per link.

Sans-IO first: a split vector is answered with announcements, not a serve; a joiner with two
links grafts each author from one of them, and a claim making progress is not taken over.
Then real nodes on loopback: a fresh peer dialing three members that hold the same history
receives it about once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from peer.identity import load_membership
from peer.net import NodeConfig
from peer.net._framed import SEND_SLICE, FramedStream
from peer.net._gossip import Gossip
from peer.net._session import Session
from peer.net._sync import IngestOutcome, Serve, SyncConfig, SyncMachine
from peer.net._wire import Events, Have, IHave, Want
from peer.testing import free_udp_port
from storage import Store
from tests.fixtures_core import wait_for
from tests.helpers import make_class
from tests.net.test_node import config, free_tcp_port, running
from tests.net.test_sync import ME, A, B, drain, hid, sent, vector

SPLIT = SyncConfig(split_catchup=True, graft_claim=3.0)


def test_our_vector_asks_for_announcements_when_split() -> None:
    m = SyncMachine(Gossip(ME), 0.0, 0, SPLIT)
    assert sent(drain(m, 0.0)) == [Have({}, split=True)]


def test_a_split_vector_is_answered_with_announcements_not_a_serve() -> None:
    gossip = Gossip(ME)
    gossip.merge(vector(a=50, b=7))
    m = SyncMachine(gossip, 0.0, 0)
    drain(m, 0.0)
    m.received(Have(vector(b=7), split=True), 0.0)
    actions = drain(m, 0.0)
    assert not any(isinstance(a, Serve) for a in actions)
    assert sent(actions) == [IHave(vector(a=50))]
    # An older peer's vector (no split) is served in full, as before.
    m.received(Have(vector(b=7)), 5.0)
    assert Serve(A, 0, 50) in drain(m, 5.0)


def test_a_joiner_with_two_links_grafts_each_author_from_one() -> None:
    gossip = Gossip(ME)
    links = [SyncMachine(gossip, 0.0, 0, SPLIT) for _ in range(2)]
    for m in links:
        drain(m, 0.0)
        m.received(Have({}), 0.0)
        drain(m, 0.0)
        m.received(IHave(vector(a=50, b=30)), 0.1)
    wants = [sent(drain(m, 1.0)) for m in links]
    asked = [a for w in wants for msg in w if isinstance(msg, Want) for a in msg.after]
    assert sorted(asked) == sorted([A, B])  # each author asked of exactly one link
    # The first batch of A arrives on its link: the claim holds past the graft timeout while
    # events keep coming, so the other link does not start A again.
    owner = next(m for m, w in zip(links, wants, strict=True) if any(A in x.after for x in w))
    other = next(m for m in links if m is not owner)
    owner.ingested(IngestOutcome(stored={A: (20, hid(A, 20))}, stored_count=20), 2.5)
    taken = [m for m in sent(drain(other, 4.0)) if isinstance(m, Want) and A in m.after]
    assert taken == []  # (B, whose claim made no progress, may move: that is the rule)
    # A link that stops delivering loses its claim after graft_claim: the other takes over.
    assert Want({A: 20}, graft=True) in sent(drain(other, 6.0))


async def test_a_fresh_peer_dialing_three_members_is_served_about_once(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=3)
    full, fresh = dirs.all[:3], dirs.all[3]
    stores = [Store.open(d) for d in full]
    try:
        for d, store in zip(full, stores, strict=True):
            key = load_membership(d).signing_key
            store.append_many(
                key, [("chat", {"room": "general", "text": f"line {i}"}) for i in range(150)]
            )
        for source in stores:  # the three hold the same history
            for author in source.heads():
                events = source.events_range(author, 0, 10_000)
                for target in stores:
                    if target is not source:
                        target.ingest(events)
        total = sum(stores[0].heads().values())
    finally:
        for store in stores:
            store.close()
    ports = [free_tcp_port() for _ in full]
    configs: list[NodeConfig] = [config(port=p) for p in ports]
    configs.append(config(static_peers=tuple(("127.0.0.1", p) for p in ports)))
    async with running([*full, fresh], configs) as nodes:
        joiner = nodes[3]

        def serving_sessions() -> list[Session]:
            return [
                s
                for n in nodes[:3]
                for s, _ in n.node.mesh.sessions.values()
                if s.remote_id == joiner.peer_id
            ]

        with trio.fail_after(60):

            async def caught_up_on_three_links() -> bool:
                held = sum((await joiner.store.heads()).values())
                links = serving_sessions()
                # Each member has had the joiner's vector, so each has done what it will.
                return (
                    held >= total
                    and len(links) == 3
                    and all(s.machine is not None and s.machine.remote_known for s in links)
                )

            await wait_for(caught_up_on_three_links)
            served = sum(s.stats.events_sent for s in serving_sessions())
    needed = total - 3  # the joiner held its own profile, join (and nothing else)
    # Served once: each member serving the whole history would be about 3 * needed.
    assert needed <= served <= needed + needed // 10, (served, needed)


async def test_a_live_outbound_session_counts_once_against_the_dial_budget(
    tmp_path: Path,
) -> None:
    """With a dial target of two, a peer that hears two members (who dial nobody) ends up
    connected to both: its first live session is one link, not a link plus a dial in
    progress (which would have left the budget spent at one)."""
    dirs = make_class(tmp_path, students=2)
    udp = free_udp_port()
    quiet = config(discovery=True, discovery_port=udp, dial_target=0)
    dialer = config(discovery=True, discovery_port=udp, dial_target=2, dial_defer=0.0)
    async with running(dirs.all, [quiet, quiet, dialer]) as (a, b, x):
        with trio.fail_after(30):

            async def both() -> bool:
                return {a.peer_id, b.peer_id} <= x.node.mesh.connected()

            await wait_for(both)
        assert all(dialer_id == x.peer_id for _s, dialer_id in x.node.mesh.sessions.values())


# ---- a slow reader is judged by its progress ----------------------------------------------


async def test_a_slow_but_steady_reader_is_not_cut_off_and_a_stalled_one_is(
    autojump_clock: trio.testing.MockClock,
) -> None:
    big = Events([b"x" * 1000] * 700)  # about 700 KiB: eleven slices
    slow_out, slow_in = trio.testing.lockstep_stream_pair()
    sender = FramedStream(slow_out)

    async def read_a_slice_every_20s() -> None:
        while True:
            await trio.sleep(20)  # a reader busy storing (autojump: no real time passes)
            if not await slow_in.receive_some(SEND_SLICE):
                return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_a_slice_every_20s)
        start = trio.current_time()
        await sender.send(big, stall_timeout=30)  # a whole frame takes minutes: still fine
        assert trio.current_time() - start > 30
        nursery.cancel_scope.cancel()

    stalled_out, _stalled_in = trio.testing.lockstep_stream_pair()
    with pytest.raises(trio.TooSlowError):
        await FramedStream(stalled_out).send(big, stall_timeout=30)
