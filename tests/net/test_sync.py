"""The sync machine's rules, one by one, with no sockets, threads or clock: inputs in,
actions out, time passed by hand."""

from __future__ import annotations

import tracemalloc

import pytest

from peer.errors import ProtocolError
from peer.net._gossip import Gossip
from peer.net._sync import (
    FULL_SERVE_INTERVAL,
    GAP_RETRY,
    GRAFT_TIMEOUT,
    IDLE_TIMEOUT,
    IHAVE_DELAY,
    PING_INTERVAL,
    Action,
    Close,
    Closed,
    ForkSeen,
    Ingest,
    IngestOutcome,
    OwnLogAhead,
    Push,
    ReadStored,
    Ref,
    Send,
    Serve,
    SyncConfig,
    SyncMachine,
    Wait,
)
from peer.net._wire import Bye, Events, Have, Hello, IHave, Message, Ping, Prune, Want

ME, A, B, C = (bytes([n]) * 32 for n in (1, 2, 3, 4))


def hid(author: bytes, seq: int, branch: int = 0) -> bytes:
    """A stand-in event id, different per author, seq and branch."""
    return bytes([author[0], seq % 256, branch]) * 10 + b"\0\0"


def vector(**heads: int) -> dict[bytes, tuple[int, bytes]]:
    names = {"me": ME, "a": A, "b": B, "c": C}
    return {names[k]: (seq, hid(names[k], seq)) for k, seq in heads.items()}


def machine(ours: dict[bytes, tuple[int, bytes]] | None = None, **config: object) -> SyncMachine:
    gossip = Gossip(ME)
    gossip.merge(ours or {})
    return SyncMachine(gossip, 0.0, 0, SyncConfig(**config))  # type: ignore[arg-type]


def drain(m: SyncMachine, now: float, store_max: int = 0) -> list[Action]:
    """Everything the machine wants to do at ``now``, up to (not including) its Wait."""
    out: list[Action] = []
    while not isinstance(action := m.poll(now, store_max), Wait):
        assert not isinstance(action, ReadStored), "feed refs with stored()"
        out.append(action)
    return out


def sent(actions: list[Action]) -> list[Message]:
    return [a.message for a in actions if isinstance(a, Send)]


def synced(ours: dict[bytes, tuple[int, bytes]] | None = None, **theirs: int) -> SyncMachine:
    """A machine past the vector exchange: the other side holds ``theirs``."""
    m = machine(ours)
    drain(m, 0.0)
    m.received(Have(vector(**theirs)), 0.0)
    drain(m, 0.0)
    return m


def stored(author: bytes, *seqs: int, first_local_id: int = 1) -> list[Ref]:
    return [Ref(first_local_id + i, author, s, hid(author, s)) for i, s in enumerate(seqs)]


# ---- the vector exchange and serving ----------------------------------------------------


def test_our_vector_with_head_ids_goes_first() -> None:
    m = machine(vector(me=2, a=5))
    assert sent(drain(m, 0.0)) == [Have(vector(me=2, a=5))]


def test_a_large_vector_goes_in_chunks() -> None:
    m = machine(vector(me=1, a=1, b=1), vector_chunk=2)
    haves = sent(drain(m, 0.0))
    assert [(len(h.heads), h.more) for h in haves if isinstance(h, Have)] == [(2, True), (1, False)]


def test_a_chunked_vector_is_gathered_before_it_is_served() -> None:
    m = machine(vector(a=5, b=5))
    drain(m, 0.0)
    m.received(Have(vector(a=5), more=True), 0.0)
    assert drain(m, 0.0) == []  # not the whole vector yet: b is not wanted
    m.received(Have({}, more=False), 0.0)
    assert drain(m, 0.0) == [Serve(B, 0, 5)]


def test_what_the_other_side_lacks_is_served_per_author() -> None:
    m = machine(vector(me=3, a=5, b=2))
    drain(m, 0.0)
    m.received(Have(vector(a=2, b=2, c=9)), 0.0)
    assert sorted(drain(m, 0.0), key=repr) == sorted([Serve(ME, 0, 3), Serve(A, 2, 5)], key=repr)
    assert m.remote_known == {ME: 3, A: 5, B: 2, C: 9}


def test_a_full_serve_is_throttled() -> None:
    m = synced(vector(a=5))
    m.received(Have({}), 1.0)  # asked again at once: not served before the interval is up
    action = m.poll(1.0, 0)
    assert isinstance(action, Wait) and action.until <= FULL_SERVE_INTERVAL
    assert drain(m, FULL_SERVE_INTERVAL) == [Serve(A, 0, 5)]


def test_a_want_is_served_from_where_it_says() -> None:
    m = synced(vector(a=9), a=9)
    m.received(Want({A: 4, B: 0}), 1.0)  # we hold nothing of B: ignored
    assert drain(m, 1.0) == [Serve(A, 4, 9)]


def test_pushes_wait_for_the_other_sides_vector() -> None:
    m = machine(vector(me=1))
    drain(m, 0.0)
    m.stored(stored(ME, 2), 1, 0.1)  # before its vector: the full serve covers it
    assert drain(m, 0.1, store_max=1) == []
    m.received(Have({}), 0.2)
    assert drain(m, 0.2, store_max=1) == [Serve(ME, 0, 2)]


def test_the_store_cursor_is_read_when_the_store_grew() -> None:
    m = synced()
    assert m.poll(0.0, 7) == ReadStored(0)
    m.stored(stored(ME, 1), 7, 0.0)
    assert m.cursor == 7
    assert m.poll(0.0, 7) == Push((1,))


def test_a_want_served_before_queued_pushes_drops_the_pushes_it_covers() -> None:
    """A gap's Want (it got a later push first) arrives while our own events wait to be
    pushed: the range served holds them, so only what lies past it is pushed after."""
    m = synced(vector(me=1), me=0)
    drain(m, 0.0)
    m.stored(stored(ME, 2, 3), 2, 0.0)  # queued for a push, not yet polled
    m.received(Want({ME: 0}), 0.0)  # it lacks all of our log
    assert drain(m, 0.0, 2) == [Serve(ME, 0, 3)]  # 2 and 3 go once, in the range
    m.stored(stored(ME, 4, first_local_id=3), 3, 0.0)  # past the range: pushed as before
    assert drain(m, 0.0, 3) == [Push((3,))]


# ---- live gossip (Plumtree) --------------------------------------------------------------


def test_our_own_events_are_pushed_at_once() -> None:
    m = synced(vector(me=1), me=1)
    m.stored(stored(ME, 2, 3), 2, 0.0)
    assert drain(m, 0.0, 2) == [Push((1, 2))]
    assert m.remote_known[ME] == 3


def test_what_the_other_side_holds_is_not_pushed_back() -> None:
    m = synced(vector(me=1), me=1)
    m.received(IHave(vector(me=3)), 0.0)
    m.stored(stored(ME, 2, 3), 2, 0.0)
    assert drain(m, 1.0, 2) == []


def test_others_events_are_announced_lazily_in_one_batch() -> None:
    m = synced(vector(a=1, b=1), a=1, b=1)
    m.stored([*stored(A, 2), *stored(B, 2, first_local_id=2)], 2, 0.0)
    m.stored(stored(A, 3, first_local_id=3), 3, 0.01)
    assert drain(m, 0.0, 3) == []
    action = m.poll(0.0, 3)
    assert isinstance(action, Wait) and action.until == pytest.approx(IHAVE_DELAY)
    assert sent(drain(m, IHAVE_DELAY, 3)) == [IHave({A: (3, hid(A, 3)), B: (2, hid(B, 2))})]


def test_an_announcement_is_dropped_for_what_the_other_side_got_meanwhile() -> None:
    m = synced(vector(a=1), a=1)
    m.stored(stored(A, 2), 1, 0.0)
    m.ingested(IngestOutcome(seen={A: 2}), 0.01)
    assert drain(m, IHAVE_DELAY, 1) == []


def test_a_missed_announcement_is_grafted_after_the_timeout() -> None:
    m = synced(vector(a=1), a=1)
    m.received(IHave(vector(a=4)), 1.0)
    assert drain(m, 1.0 + GRAFT_TIMEOUT * 0.9) == []
    assert sent(drain(m, 1.0 + GRAFT_TIMEOUT)) == [Want({A: 1}, graft=True)]
    assert not m.pushes_eagerly(A)  # it pushes A to us now; we don't push A back up
    assert drain(m, 5.0) == [Send(Ping())]  # once


def test_an_announced_event_that_arrives_meanwhile_is_not_grafted() -> None:
    m = synced(vector(a=1), a=1)
    m.received(IHave(vector(a=4)), 1.0)
    m.gossip.learn(A, 4, hid(A, 4))  # came by the eager path after all
    assert drain(m, 2.0) == []


def test_two_links_announcing_one_event_graft_once_then_the_second_if_needed() -> None:
    gossip = Gossip(ME)
    first, second = (SyncMachine(gossip, 0.0, 0) for _ in range(2))
    for m in (first, second):
        drain(m, 0.0)
        m.received(Have({}), 0.0)
        drain(m, 0.0)
        m.received(IHave(vector(a=2)), 0.1)
    t = 0.1 + GRAFT_TIMEOUT
    assert sent(drain(first, t)) == [Want({A: 0}, graft=True)]
    assert sent(drain(second, t)) == []  # the first link is already fetching it
    # The first link never delivers: the second grafts once the claim lapses.
    assert sent(drain(second, t + GRAFT_TIMEOUT)) == [Want({A: 0}, graft=True)]


def test_announcements_of_a_forks_tail_are_not_grafted() -> None:
    m = synced(vector(me=1, a=5), me=1, a=5)
    m.gossip.set_fork_points({A: 3})
    m.received(IHave(vector(a=9)), 0.0)
    assert drain(m, 1.0) == []


def test_a_copy_behind_on_its_own_log_grafts_it_from_an_announcement() -> None:
    # A data dir restored from a backup holds none of its own log; a split vector asks the
    # other side to announce, so the announcement is its only way back (issue 22).
    m = machine(split_catchup=True)
    assert all(isinstance(h, Have) and h.split for h in sent(drain(m, 0.0)))
    assert m.received(Have(vector(me=3, a=2)), 0.0) == [OwnLogAhead(3)]
    drain(m, 0.0)
    m.received(IHave(vector(me=3, a=2)), 0.1)
    assert sent(drain(m, 0.1 + GRAFT_TIMEOUT)) == [Want({ME: 0, A: 0}, graft=True)]


def test_a_pushed_duplicate_prunes_that_author_on_that_link() -> None:
    m = synced(vector(a=3, b=3), a=3, b=3)
    m.received(Want({A: 3, B: 3}, graft=True), 0.0)
    assert m.pushes_eagerly(A) and m.pushes_eagerly(B)
    drain(m, 0.0)
    dup = IngestOutcome(duplicates=1, seen={A: 3}, pushed=True, duplicate_authors=frozenset({A}))
    m.ingested(dup, 0.1)
    assert sent(drain(m, 0.1)) == [Prune([A])]
    assert not m.pushes_eagerly(A) and m.pushes_eagerly(B)
    m.ingested(dup, 0.2)  # pushes already in flight: not pruned twice
    assert drain(m, 0.2) == []


def test_duplicates_in_answer_to_a_request_do_not_prune() -> None:
    m = synced(vector(a=3), a=3)
    m.ingested(IngestOutcome(duplicates=3, seen={A: 3}, pushed=False), 0.1)
    assert drain(m, 0.1) == []


def test_a_prune_makes_pushes_announcements_and_a_graft_makes_them_pushes_again() -> None:
    m = synced(vector(me=1, a=1), me=1, a=1)
    m.received(Want({A: 1}, graft=True), 0.0)
    m.received(Prune([A, ME]), 0.0)
    assert drain(m, 0.0) == []  # nothing past seq 1 to serve yet
    m.stored([*stored(A, 2), *stored(ME, 2, first_local_id=2)], 2, 0.0)
    assert drain(m, 0.0, 2) == [Push((2,))]  # our own log is always pushed
    assert sent(drain(m, IHAVE_DELAY, 2)) == [IHave({A: (2, hid(A, 2))})]
    m.received(Want({A: 1}, graft=True), 0.1)
    assert drain(m, 0.1, 2) == [Serve(A, 1, 2)]
    m.stored(stored(A, 3, first_local_id=3), 3, 0.2)
    assert drain(m, 0.2, 3) == [Push((3,))]


# ---- gaps ---------------------------------------------------------------------------------


def test_a_gap_asks_for_the_missing_range() -> None:
    m = synced(vector(a=2), a=2)
    m.ingested(IngestOutcome(gaps={A: 3}, seen={A: 6}, pushed=True), 1.0)
    assert sent(drain(m, 1.0)) == [Want({A: 2})]


def test_the_same_gap_is_asked_again_only_after_the_retry_interval() -> None:
    m = synced(vector(a=2), a=2)
    gap = IngestOutcome(gaps={A: 3}, seen={A: 6}, pushed=True)
    m.ingested(gap, 1.0)
    drain(m, 1.0)
    m.ingested(gap, 1.0 + GAP_RETRY / 2)
    assert sent(drain(m, 1.0 + GAP_RETRY / 2)) == []
    m.ingested(gap, 1.1 + GAP_RETRY)
    assert sent(drain(m, 1.1 + GAP_RETRY)) == [Want({A: 2})]


def test_invalid_events_close_the_connection_saying_why() -> None:
    m = synced()
    with pytest.raises(ProtocolError, match="sent 1 invalid event"):
        m.ingested(IngestOutcome(rejected=("event 0202#1 has a bad signature",)), 0.0)


# ---- forks and copies ------------------------------------------------------------------


def test_a_different_head_at_the_same_seq_fetches_the_fork_evidence_once() -> None:
    m = machine(vector(a=3))
    drain(m, 0.0)
    theirs = {A: (3, hid(A, 3, branch=1))}
    assert m.received(Have(theirs), 0.0) == [ForkSeen(A, 3)]
    assert sent(drain(m, 0.0)) == [Want({A: 2})]
    assert m.received(IHave(theirs), 0.5) == []  # asked already


def test_equal_heads_are_no_fork() -> None:
    m = machine(vector(a=3))
    drain(m, 0.0)
    assert m.received(Have(vector(a=3)), 0.0) == []


def test_a_forked_author_is_relayed_up_to_the_fork() -> None:
    m = machine(vector(a=6))
    m.gossip.set_fork_points({A: 4})
    drain(m, 0.0)
    m.received(Have({}), 0.0)
    assert drain(m, 0.0) == [Serve(A, 0, 3)]
    m.received(Want({A: 1}, graft=True), 0.1)
    assert drain(m, 0.1) == [Serve(A, 1, 3)]
    m.stored(stored(A, 7), 1, 0.2)
    assert drain(m, 1.0, 1) == []  # past the fork: neither pushed nor announced


def test_a_copy_holding_more_of_our_own_log_is_reported_once_per_seq() -> None:
    m = machine(vector(me=3))
    drain(m, 0.0)
    assert OwnLogAhead(5) in m.received(Have(vector(me=5)), 0.0)
    assert m.received(IHave(vector(me=5)), 0.1) == []
    assert m.received(IHave(vector(me=6)), 0.2) == [OwnLogAhead(6)]


# ---- bounds under a hostile member ------------------------------------------------------


def fake_authors(start: int, count: int) -> dict[bytes, tuple[int, bytes]]:
    return {i.to_bytes(32, "big"): (1, bytes(32)) for i in range(start, start + count)}


def test_a_vector_naming_too_many_authors_closes_the_connection() -> None:
    m = machine(max_authors=100)
    m.received(Have(fake_authors(0, 60), more=True), 0.0)
    with pytest.raises(ProtocolError, match="version vector names more than 100 authors"):
        m.received(Have(fake_authors(60, 60), more=True), 0.0)


@pytest.mark.parametrize(
    "flood",
    [
        lambda i: IHave(fake_authors(i * 50, 50)),
        lambda i: Want({a: 0 for a in fake_authors(i * 50, 50)}),
        lambda i: Prune(list(fake_authors(i * 50, 50))),
    ],
    ids=["ihave", "want", "prune"],
)
def test_made_up_authors_in_any_message_close_the_connection_at_the_cap(flood: object) -> None:
    m = synced(vector(**{"a": 1}))
    m.gossip.merge(fake_authors(0, 200))  # a Want is only tracked for authors we hold
    m.config = SyncConfig(max_authors=100)
    with pytest.raises(ProtocolError, match="names more than 100 authors"):
        for i in range(10):
            m.received(flood(i), float(i))  # type: ignore[operator]
            drain(m, float(i))


def test_a_hostile_member_cannot_grow_our_memory_past_the_cap() -> None:
    """The issue's attack: announcements naming ever new made-up authors. With the default
    cap, the connection closes once 10,000 are named, having held a few MiB at most."""
    m = synced()
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="names more than 10000 authors"):
            for i in range(1000):
                m.received(IHave(fake_authors(i * 5000, 5000)), i * 0.01)
                drain(m, i * 0.01)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert i < 3
    assert peak < 16 * 1024 * 1024


def test_gap_table_is_bounded() -> None:
    m = synced()
    m.config = SyncConfig(max_authors=10)
    with pytest.raises(ProtocolError, match="gap names more than 10"):
        for i in range(20):
            m.ingested(IngestOutcome(gaps={i.to_bytes(32, "big"): 3}), 0.0)
    # Gaps asked long enough ago make room instead.
    m = synced()
    m.config = SyncConfig(max_authors=10)
    for i in range(20):
        m.ingested(IngestOutcome(gaps={i.to_bytes(32, "big"): 3}), i * GAP_RETRY * 2)


# ---- keep-alive, idle, goodbye ------------------------------------------------------------


def test_a_ping_goes_out_after_a_quiet_interval() -> None:
    m = synced()
    action = m.poll(1.0, 0)
    assert isinstance(action, Wait) and action.until == PING_INTERVAL
    assert drain(m, PING_INTERVAL) == [Send(Ping())]
    m.received(Want({}), PING_INTERVAL + 1)
    assert drain(m, 2 * PING_INTERVAL - 0.01) == []
    assert drain(m, 2 * PING_INTERVAL) == [Send(Ping())]


def test_anything_sent_postpones_the_ping() -> None:
    m = synced(vector(me=1), me=1)
    m.stored(stored(ME, 2), 1, 2.0)
    assert drain(m, 2.0, 1) == [Push((1,))]
    assert drain(m, PING_INTERVAL, 1) == []
    assert drain(m, 2.0 + PING_INTERVAL, 1) == [Send(Ping())]


def test_nothing_heard_for_the_idle_timeout_is_a_dead_link() -> None:
    m = synced()
    # A cut is noticed at most IDLE_TIMEOUT after it (the last thing heard came before it),
    # and two keep-alives delayed in a row do not make a false alarm.
    assert 2 * PING_INTERVAL < IDLE_TIMEOUT < 10
    m.check_idle(IDLE_TIMEOUT - 0.01)
    with pytest.raises(ProtocolError, match="nothing heard for 9s"):
        m.check_idle(IDLE_TIMEOUT)


def test_time_not_spent_listening_does_not_count_as_silence() -> None:
    m = synced()
    # The reader was held up by a slow store until t=20 and only now listens again.
    m.check_idle(20.0 + IDLE_TIMEOUT - 0.01, listening_since=20.0)
    with pytest.raises(ProtocolError, match="nothing heard"):
        m.check_idle(20.0 + IDLE_TIMEOUT, listening_since=20.0)


def test_every_message_or_stored_batch_counts_as_heard() -> None:
    m = synced()
    m.received(Ping(), 5.0)
    m.check_idle(5.0 + IDLE_TIMEOUT - 0.01)
    m.ingested(IngestOutcome(), 12.0)
    assert m.idle_deadline() == 12.0 + IDLE_TIMEOUT


def test_close_says_goodbye_before_anything_else() -> None:
    m = synced(vector(a=5))
    m.received(Have({}), 10.0)
    m.close("duplicate connection")
    m.close("later reason")
    assert m.poll(10.0, 0) == Close("duplicate connection")


def test_a_goodbye_ends_the_connection() -> None:
    m = synced()
    assert m.received(Bye("shutting down"), 1.0) == [Closed("shutting down")]


def test_events_are_ingested_with_how_they_came() -> None:
    m = synced()
    assert m.received(Events([b"x"], pushed=True), 0.0) == [Ingest([b"x"], True)]
    assert m.received(Events([]), 0.0) == []


def test_a_second_hello_is_a_protocol_error() -> None:
    m = synced()
    with pytest.raises(ProtocolError, match="unexpected hello"):
        m.received(Hello(2, bytes(16), A, 1), 0.0)
