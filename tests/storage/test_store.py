"""The store: migrations, appending, the receive path (ordering, gaps, signatures, forks),
projections that every peer agrees on, and several processes writing one data dir."""

from __future__ import annotations

import itertools
import multiprocessing
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.identity import load_membership
from peer.log._events import Event, decode_event, make_event
from storage import Store
from storage._store import DB_FILE
from storage.queries._chat import chat_log
from tests.fixtures_core import BASE_TS, all_events, bad_signature, chain, new_key, raws
from tests.helpers import make_class, pc_ok

KEY = new_key()
AUTHOR = bytes(KEY.verify_key)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "store")
    yield s
    s.close()


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path / DB_FILE) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _revision(path: Path) -> str:
    with sqlite3.connect(path / DB_FILE) as db:
        return str(db.execute("SELECT version_num FROM alembic_version").fetchone()[0])


# ---- opening ----------------------------------------------------------------------------


def test_open_runs_migrations_on_a_fresh_dir_and_reopens(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "nested"
    store = Store.open(data)
    assert store.heads() == {}
    event = store.append(KEY, "chat", {"room": "general", "text": "kept"})
    store.close()
    tables = _tables(data)
    assert {"alembic_version", "events", "heads", "forks", "peers", "meta"} <= tables
    assert {"profiles", "messages"} <= tables
    revision = _revision(data)
    with sqlite3.connect(data / DB_FILE) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    reopened = Store.open(data)
    try:
        assert _revision(data) == revision
        assert reopened.heads() == {AUTHOR: 1}
        assert reopened.event_by_id(event.id) == event
        assert [m.text for m in chat_log(reopened)] == ["kept"]
    finally:
        reopened.close()


def test_init_makes_a_store_with_the_profile_event(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=1)
    membership = load_membership(dirs.students[0])
    store = Store.open(dirs.students[0])
    try:
        assert store.heads() == {membership.peer_id: 2}  # its profile and its join
        assert store.names() == {membership.peer_id: "Student1"}
    finally:
        store.close()


# ---- appending --------------------------------------------------------------------------


def test_append_chains_seq_prev_and_increasing_ts(store: Store) -> None:
    made = [store.append(KEY, "chat", {"room": "general", "text": f"m{i}"}) for i in range(3)]
    assert [e.seq for e in made] == [1, 2, 3]
    assert made[0].prev is None
    assert made[1].prev == made[0].id and made[2].prev == made[1].id
    assert made[0].ts < made[1].ts < made[2].ts
    assert all(e.verify_signature() for e in made)
    assert store.events_range(AUTHOR, 0, 10) == raws(made)
    assert store.heads() == {AUTHOR: 3}


def test_append_is_later_than_everything_already_seen(store: Store) -> None:
    # Another author's events carry a ts ahead of our clock (but within the drift limit).
    other = new_key()
    from peer.log import hlc

    ahead = hlc.from_ms(hlc.wall_ms() + 60_000)
    store.ingest(raws(chain(other, 1, ts=[ahead])))
    mine = store.append(KEY, "chat", {"room": "general", "text": "reply"})
    assert mine.ts > ahead


def test_append_refuses_an_invalid_body(store: Store) -> None:
    from peer.errors import ValidationError

    with pytest.raises(ValidationError):
        store.append(KEY, "chat", {"room": "bad room", "text": "x"})
    assert store.heads() == {}


# ---- ingest: ordering -------------------------------------------------------------------


def test_ingest_in_order(store: Store) -> None:
    evs = chain(KEY, 5)
    result = store.ingest(raws(evs))
    assert [e.seq for e in result.stored] == [1, 2, 3, 4, 5]
    assert (result.duplicates, result.forks, result.rejected, dict(result.gaps)) == (0, 0, (), {})
    assert result.seen == {AUTHOR: 5}
    assert store.heads() == {AUTHOR: 5}
    assert store.events_range(AUTHOR, 0, 10) == raws(evs)


def test_ingest_reversed_and_shuffled_within_a_batch(tmp_path: Path) -> None:
    evs = chain(KEY, 30)
    shuffled = raws(evs)
    random.Random(7).shuffle(shuffled)
    for name, batch in (("rev", raws(reversed(evs))), ("shuf", shuffled)):
        store = Store.open(tmp_path / name)
        try:
            result = store.ingest(batch)
            assert len(result.stored) == 30 and not result.rejected and not result.gaps
            assert store.events_range(AUTHOR, 0, 100) == raws(evs)
        finally:
            store.close()


def test_ingest_interleaved_authors_from_another_store(tmp_path: Path) -> None:
    source = Store.open(tmp_path / "source")
    target = Store.open(tmp_path / "target")
    try:
        keys = [new_key() for _ in range(3)]
        for i in range(12):
            source.append(keys[i % 3], "chat", {"room": "general", "text": f"t{i}"})
        batch = [s.raw for s in source.events_after(0, 100)]  # interleaved as stored
        result = target.ingest(batch)
        assert len(result.stored) == 12 and not result.rejected
        assert target.heads() == source.heads()
        assert all_events(target) == all_events(source)
    finally:
        source.close()
        target.close()


def test_ingest_duplicates_are_counted_not_stored_twice(store: Store) -> None:
    evs = chain(KEY, 4)
    store.ingest(raws(evs[:2]))
    result = store.ingest(raws(evs) + raws(evs[1:3]))
    assert [e.seq for e in result.stored] == [3, 4]
    assert result.duplicates == 4  # 1 and 2 held; the second 2 and the second 3 of the batch
    assert result.forks == 0 and not result.rejected
    assert store.event_count() == 4
    again = store.ingest(raws(evs))
    assert again.stored == () and again.duplicates == 4
    assert store.fork_count() == 0


def test_ingest_with_a_gap_reports_the_first_missing_seq(store: Store) -> None:
    evs = chain(KEY, 8)
    result = store.ingest(raws(evs[3:]))  # starts at seq 4 on an empty log
    assert result.stored == () and result.gaps == {AUTHOR: 1}
    assert store.heads() == {}
    store.ingest(raws(evs[:2]))
    result = store.ingest(raws(evs[4:]))  # holds 1-2, gets 5-8
    assert result.gaps == {AUTHOR: 3}
    assert store.heads() == {AUTHOR: 2}


def test_ingest_with_a_gap_inside_the_batch_stores_the_prefix_and_reports_the_gap(
    store: Store,
) -> None:
    evs = chain(KEY, 8)
    result = store.ingest(raws(evs[:3] + evs[5:]))
    assert [e.seq for e in result.stored] == [1, 2, 3]
    assert result.gaps == {AUTHOR: 4}
    assert store.heads() == {AUTHOR: 3}
    assert store.event_count() == 3  # nothing past the gap
    store.ingest(raws(evs[3:]))
    assert store.heads() == {AUTHOR: 8}


# ---- ingest: authentication -------------------------------------------------------------


def test_bad_signature_on_the_last_event_of_a_run_stores_the_valid_prefix(store: Store) -> None:
    evs = chain(KEY, 6)
    batch = raws(evs)
    batch[-1] = bad_signature(batch[-1])
    result = store.ingest(batch)
    assert [e.seq for e in result.stored] == [1, 2, 3, 4, 5]
    assert len(result.rejected) == 1 and "#6 has a bad signature" in result.rejected[0]
    assert store.heads() == {AUTHOR: 5}
    assert result.forks == 0 and store.fork_count() == 0
    # The genuine event is still welcome afterwards.
    assert [e.seq for e in store.ingest([evs[-1].raw]).stored] == [6]


def test_bad_signature_in_the_middle_refuses_it_and_everything_after(store: Store) -> None:
    evs = chain(KEY, 6)
    store.ingest(raws(evs[:1]))
    batch = raws(evs)
    batch[3] = bad_signature(batch[3])  # seq 4
    result = store.ingest(batch)
    assert [e.seq for e in result.stored] == [2, 3]
    assert result.rejected and all("forked" not in r for r in result.rejected)
    assert any("#4" in r for r in result.rejected)
    assert store.heads() == {AUTHOR: 3}
    # A tampered event is no evidence of a fork by its (honest) author.
    assert result.forks == 0 and store.fork_count() == 0
    assert store.forked_authors() == set()
    assert len(store.ingest(raws(evs[3:])).stored) == 3


def test_a_single_bad_event_is_refused(store: Store) -> None:
    ev = chain(KEY, 1)[0]
    result = store.ingest([bad_signature(ev.raw)])
    assert result.stored == () and "bad signature" in result.rejected[0]
    assert store.heads() == {}


def test_malformed_raws_are_rejected_with_reasons_and_the_rest_stored(store: Store) -> None:
    evs = chain(KEY, 2)
    result = store.ingest([b"garbage" * 20, *raws(evs), b"\x00"])
    assert len(result.stored) == 2
    assert len(result.rejected) == 2
    assert any("malformed" in r for r in result.rejected)
    assert any("too short" in r for r in result.rejected)


def test_ts_not_increasing_is_refused(store: Store) -> None:
    evs = chain(KEY, 4, ts=[BASE_TS + 10, BASE_TS + 20, BASE_TS + 20, BASE_TS + 30])
    result = store.ingest(raws(evs))
    assert [e.seq for e in result.stored] == [1, 2]
    assert any("#3 has a ts earlier than its predecessor" in r for r in result.rejected)
    assert store.heads() == {AUTHOR: 2}


# ---- ingest: forks ----------------------------------------------------------------------


def _second_version(evs: list[Event], seq: int) -> Event:
    """A validly signed event for ``seq`` that differs from ``evs``' one."""
    prev = evs[seq - 2].id if seq > 1 else None
    return make_event(
        KEY,
        seq=seq,
        prev=prev,
        ts=evs[seq - 1].ts,
        kind="chat",
        body={"room": "general", "text": "the other version"},
    )


def test_fork_is_recorded_and_the_kept_event_unchanged(store: Store) -> None:
    evs = chain(KEY, 3)
    store.ingest(raws(evs))
    other = _second_version(evs, 2)
    result = store.ingest([other.raw])
    assert result.stored == () and result.forks == 1
    assert any("forked" in r for r in result.fork_notes) and result.rejected == ()
    assert store.fork_count() == 1
    assert store.forked_authors() == {AUTHOR}
    assert store.events_range(AUTHOR, 0, 10) == raws(evs)
    assert store.event_by_id(other.id) is None
    # The same evidence twice is recorded once.
    assert store.ingest([other.raw]).forks == 0
    assert store.fork_count() == 1


def test_fork_at_the_next_seq_is_recorded(store: Store) -> None:
    evs = chain(KEY, 3)
    store.ingest(raws(evs[:2]))
    stranger = make_event(
        KEY, seq=3, prev=bytes(32), ts=evs[2].ts, kind="chat", body={"room": "r", "text": "x"}
    )
    result = store.ingest([stranger.raw])
    assert result.forks == 1 and result.stored == ()
    assert store.forked_authors() == {AUTHOR}
    assert store.heads() == {AUTHOR: 2}


def test_fork_with_a_forged_signature_is_refused_and_not_recorded(store: Store) -> None:
    evs = chain(KEY, 3)
    store.ingest(raws(evs))
    forged = bad_signature(_second_version(evs, 2).raw)
    result = store.ingest([forged])
    assert result.forks == 0 and "bad signature" in result.rejected[0]
    assert store.fork_count() == 0 and store.forked_authors() == set()
    assert store.events_range(AUTHOR, 0, 10) == raws(evs)


def test_own_log_marked_forked_refuses_append(store: Store) -> None:
    from peer.errors import UsageError

    store.append(KEY, "chat", {"room": "general", "text": "one"})
    mine = store.events_range(AUTHOR, 0, 1)
    other = make_event(
        KEY, seq=1, prev=None, ts=BASE_TS, kind="chat", body={"room": "general", "text": "two"}
    )
    assert store.ingest([other.raw]).forks == 1
    with pytest.raises(UsageError, match="forked"):
        store.append(KEY, "chat", {"room": "general", "text": "three"})
    assert store.events_range(AUTHOR, 0, 10) == mine


# ---- projections ------------------------------------------------------------------------


def _class_events() -> list[bytes]:
    """Three authors' chat, with equal timestamps across authors to exercise the tie-break."""
    keys = [new_key() for _ in range(3)]
    out: list[bytes] = []
    for n, key in enumerate(keys):
        profile = make_event(
            key,
            seq=1,
            prev=None,
            ts=BASE_TS,
            kind="profile",
            body={"name": f"P{n}", "role": "student"},
        )
        out.append(profile.raw)
        stamps = [BASE_TS + 100 * i + 1 for i in range(10)]  # the same for every author
        out.extend(
            raws(chain(key, 10, start=decode_event(profile.raw), ts=stamps, room=f"r{n % 2}"))
        )
    return out


def test_chat_log_is_the_same_whatever_order_events_arrived_in(tmp_path: Path) -> None:
    events = _class_events()
    logs = []
    for i, order in enumerate(("asis", "reversed", "shuffled", "one_by_one")):
        store = Store.open(tmp_path / order)
        try:
            batch = list(events)
            if order == "reversed":
                batch.reverse()
            elif order == "shuffled":
                random.Random(i).shuffle(batch)
            if order == "one_by_one":
                pending = list(reversed(batch))
                while pending:  # deliver one at a time, retrying what arrived too early
                    raw = pending.pop()
                    if store.ingest([raw]).gaps:
                        pending.insert(0, raw)
            else:
                assert not store.ingest(batch).rejected
            assert store.event_count() == len(events)
            logs.append(chat_log(store))
            assert chat_log(store, "r1") == [m for m in logs[-1] if m.room == "r1"]
        finally:
            store.close()
    assert all(log == logs[0] for log in logs[1:])
    assert len(logs[0]) == 30
    keys = [(m.ts, m.author, m.seq) for m in logs[0]]
    assert keys == sorted(keys)
    assert {m.author_name for m in logs[0]} == {"P0", "P1", "P2"}
    assert any(a[0] == b[0] and a[1] != b[1] for a, b in itertools.pairwise(keys))


def test_rebuild_projections_reproduces_the_chat_log(store: Store) -> None:
    store.ingest(_class_events())
    store.append(KEY, "chat", {"room": "general", "text": "own", "reply_to": bytes(32)})
    before = chat_log(store)
    names = store.names()
    assert store.rebuild_projections() == store.event_count() == 34
    assert chat_log(store) == before
    assert store.names() == names
    assert before[-1].reply_to == bytes(32)


# ---- several processes ------------------------------------------------------------------


def _append_many(data_dir: str, count: int, tag: str) -> None:
    from peer.identity import load_membership as load

    membership = load(Path(data_dir))
    s = Store.open(Path(data_dir))
    try:
        for i in range(count):
            s.append(membership.signing_key, "chat", {"room": "general", "text": f"{tag} {i}"})
    finally:
        s.close()


def test_two_processes_appending_to_one_data_dir_never_fork(tmp_path: Path) -> None:
    data = make_class(tmp_path, students=0).instructor
    membership = load_membership(data)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(data), 20, f"p{n}")) for n in range(2)]
    for p in procs:
        p.start()
    pc_ok(data, "chat", "send", "from the cli")  # and a third writer, in this process
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = Store.open(data)
    try:
        # profile and the class's first roster entry, then 41 chat messages
        assert store.heads() == {membership.peer_id: 43}
        assert store.fork_count() == 0 and store.forked_authors() == set()
        evs = [decode_event(r) for r in store.events_range(membership.peer_id, 0, 100)]
        assert [e.seq for e in evs] == list(range(1, 44))
        assert all(b.prev == a.id and b.ts > a.ts for a, b in itertools.pairwise(evs))
        assert evs[-1].verify_signature()
        texts = [m.text for m in chat_log(store)]
        assert len(texts) == 41 and len(set(texts)) == 41
    finally:
        store.close()


def test_a_forged_copy_beside_the_real_event_does_not_frame_its_author(store: Store) -> None:
    """[X#n with a broken signature, the real X#n] in one batch: the forgery is refused, and
    the real event must not be taken for a fork (which would quarantine an honest author)."""
    evs = chain(KEY, 2)
    store.ingest([evs[0].raw])
    forged = bytearray(evs[1].raw)
    forged[-1] ^= 1
    result = store.ingest([bytes(forged), evs[1].raw])
    assert result.forks == 0 and store.fork_count() == 0
    assert store.forked_authors() == set()
    assert store.ingest([evs[1].raw]).stored == (evs[1],)


def test_append_many_saves_a_burst_in_order_in_one_transaction(tmp_path: Path) -> None:
    """Group commit: a burst of typed lines becomes consecutive, chained events; a bad one
    anywhere in it saves none of them (the console then saves them one by one)."""
    import nacl.signing

    from peer.errors import PeerclassError

    key = nacl.signing.SigningKey.generate()
    store = Store.open(tmp_path)
    try:
        first = store.append(key, "chat", {"room": "general", "text": "before"})
        burst = store.append_many(
            key, [("chat", {"room": "general", "text": f"line {i}"}) for i in range(5)]
        )
        assert [e.seq for e in burst] == [first.seq + 1 + i for i in range(5)]
        assert [e.prev for e in burst] == [first.id] + [e.id for e in burst[:-1]]
        assert all(a.ts < b.ts for a, b in itertools.pairwise(burst))
        with pytest.raises(PeerclassError):
            store.append_many(
                key,
                [("chat", {"room": "general", "text": "fine"}), ("chat", {"room": "no such"})],
            )
        assert store.heads()[bytes(key.verify_key)] == burst[-1].seq
    finally:
        store.close()
