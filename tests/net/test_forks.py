"""Forks are quarantined: an author who signs two versions of their log is shown as forked,
both signed events are kept as evidence, and only the agreed prefix before the fork is
relayed (so every peer converges on it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from peer.log._events import decode_event
from peer.testing import PeerProcess, free_udp_port, heads, wait_until
from storage import Store
from tests.helpers import make_class, pc_ok


def _raws(data_dir: Path, author: bytes) -> list[bytes]:
    store = Store.open(data_dir)
    try:
        return store.events_range(author, 0, 100)
    finally:
        store.close()


def test_a_forked_author_is_shown_kept_as_evidence_and_relayed_up_to_the_fork(
    tmp_path: Path,
) -> None:
    klass = make_class(tmp_path, students=2)
    cheater_dir = klass.students[0]
    twin_dir = tmp_path / "twin"
    shutil.copytree(cheater_dir, twin_dir)  # the same key, the same log so far
    pc_ok(cheater_dir, "chat", "send", "my answer is A")
    pc_ok(twin_dir, "chat", "send", "my answer is B")
    cheater = bytes.fromhex(pc_ok(cheater_dir, "status", "--json").json()["peer_id"])
    branch_a, branch_b = _raws(cheater_dir, cheater), _raws(twin_dir, cheater)
    agreed = len(branch_a) - 1  # what the copy held before each side wrote on its own
    assert branch_a[:agreed] == branch_b[:agreed] and branch_a[-1] != branch_b[-1]

    teacher = Store.open(klass.instructor)
    try:
        assert teacher.ingest(branch_a).stored
        result = teacher.ingest(branch_b)
        assert result.forks == 1 and not result.stored
        assert teacher.forked_authors() == {cheater}
        # Both signed versions of the forked seq are kept: ours in the log, theirs as evidence.
        kept = teacher.event_by_id(decode_event(branch_a[-1]).id)
        assert kept is not None and kept.body["text"] == "my answer is A"
        with teacher.read() as conn:
            evidence = conn.exec_driver_sql("SELECT conflicting_raw FROM forks").scalars().all()
        assert evidence == [branch_b[-1]]
    finally:
        teacher.close()

    status = pc_ok(klass.instructor, "status", "--json").json()
    assert status["forks"] == 1 and status["forked_authors"] == [cheater.hex()]
    assert "forked their log" in pc_ok(klass.instructor, "status").out
    listed = {p["peer_id"]: p for p in pc_ok(klass.instructor, "peers", "--json").json()}
    assert listed[cheater.hex()]["forked"] is True

    # A newcomer syncing from the teacher gets everyone's log, the forked author's only up to
    # the fork (what both copies signed; not either last event).
    teacher_id = status["peer_id"]
    newcomer = klass.students[1]
    port = free_udp_port()
    source = PeerProcess(klass.instructor, port, ["--no-discovery"]).start()
    sink = PeerProcess(newcomer, port, ["--no-discovery", "--peer", source.address]).start()
    try:
        wait_until(lambda: teacher_id in heads(newcomer), 20, "the newcomer to sync")
        pc_ok(klass.instructor, "chat", "send", "a later message")
        wait_until(
            lambda: heads(newcomer).get(teacher_id) == heads(klass.instructor)[teacher_id],
            20,
            "the teacher's later message to arrive",
        )
        wait_until(lambda: heads(newcomer).get(cheater.hex()) == agreed, 20, "the agreed prefix")
        assert heads(newcomer)[cheater.hex()] == agreed
    finally:
        sink.stop()
        source.stop()
