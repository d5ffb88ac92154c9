"""Issue 18 with real ``peerclass run`` processes on loopback: a removed student cannot come
back with her old invite, and what she writes after her removal counts nowhere however it
travels (a friend's peer, her second identity); a submitter's clock set back with Debian's
``faketime`` cannot make late work on time, while a classmate's honest work stays on time.
One-shot commands run in-process; only the peers (and the faked submitter) are processes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from peer.identity import load_membership
from peer.log import decode_event, hlc
from peer.testing import LOOPBACK_BROADCAST, PeerProcess, free_udp_port, wait_converged, wait_until
from storage import Store
from storage._notify import send_wakeup
from storage.queries import chat_log, list_submissions
from tests.grading.helpers import needs_sandbox
from tests.helpers import make_class, pc_ok

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def relay(source: Path, target: Path, author: bytes) -> None:
    """Hand ``author``'s whole log from ``source``'s store to ``target``'s, and wake the peer
    running on ``target`` (what a friend's modified peer would do)."""
    store = Store.open(source)
    raws = store.events_range(author, 0, 10_000)
    store.close()
    store = Store.open(target)
    try:
        assert store.ingest(raws).rejected == ()
        if store.notify_address is not None:
            send_wakeup(store.notify_address)
    finally:
        store.close()


def state_of(viewer: Path, who: bytes) -> str | None:
    store = Store.open(viewer)
    try:
        return store.roster_state(who)
    finally:
        store.close()


def held(viewer: Path, author: bytes) -> int:
    store = Store.open(viewer)
    try:
        return store.heads().get(author, 0)
    finally:
        store.close()


NO_FAKETIME = pytest.mark.skipif(
    shutil.which("faketime") is None, reason="Debian's faketime is not installed"
)


@NO_FAKETIME
def test_a_removed_student_stays_out_and_her_later_work_counts_nowhere(tmp_path: Path) -> None:
    teacher = tmp_path / "teacher"
    pc_ok(teacher, "init", "--name", "Teacher", "--role", "instructor", "--class", "Integrity")
    alice, bob, carol, again = (tmp_path / n for n in ("alice", "bob", "carol", "carol-again"))
    invites = {}
    for name, d in (("Alice", alice), ("Bob", bob), ("Carol", carol)):
        invites[name] = pc_ok(teacher, "invite", "--for", name).out.strip()
        pc_ok(d, "init", "--name", name, "--invite", invites[name])
    honest = [teacher, alice, bob]
    everyone = [*honest, carol]
    ids = {d: load_membership(d).peer_id for d in everyone}
    files = tmp_path / "files"
    files.mkdir()
    port = free_udp_port()
    peers = {d: PeerProcess(d, port) for d in everyone}
    try:
        for peer in peers.values():
            peer.start()
        wait_until(
            lambda: all(state_of(teacher, ids[d]) == "member" for d in everyone),
            60,
            "the instructor's peer to admit the three joiners",
        )
        problem = pc_ok(teacher, "problem", "publish", "--title", "Sum",
                        "--statement-file", write(files / "s.md", "Add.")).out.strip()  # fmt: skip
        wait_converged(everyone)
        earlier = pc_ok(carol, "submit", problem[:8], write(files / "c1.py", ADD)).out.split()[-1]
        wait_converged(everyone)
        pc_ok(teacher, "remove", "Carol")
        wait_until(
            lambda: all(state_of(d, ids[carol]) == "removed" for d in honest),
            60,
            "the removal to reach every honest peer",
        )
        peers[carol].stop()
        # Carol writes on after her removal, in her own store; her submission runs with her
        # clock two hours back, so it is stamped one tick after her last event, before the
        # removal (a rule by timestamp would take it).
        later = _faked(carol, "-2h", "submit", problem[:8], write(files / "c2.py", ADD))
        pc_ok(carol, "chat", "send", "carol-after-removal")
        carol_head = held(carol, ids[carol])
        # (1) Her friend Alice's peer takes those events in and passes them on.
        relay(carol, alice, ids[carol])
        # (2) Her second identity, made from her original one-student invite, carries them too.
        pc_ok(again, "init", "--name", "Carol", "--invite", invites["Carol"])
        ids[again] = load_membership(again).peer_id
        relay(carol, again, ids[carol])
        peers[again] = PeerProcess(again, port).start()
        wait_until(
            lambda: all(held(d, ids[carol]) == carol_head for d in honest),
            60,
            "the relayed events to be held by every honest peer",
        )
        # The instructor's peer refuses the second identity (her token was revoked by her
        # removal), and the refused peer is told why.
        wait_until(
            lambda: state_of(teacher, ids[again]) == "removed", 60, "the second identity refused"
        )
        terminal = again / "run.log"  # what the refused joiner's `peerclass run` printed
        reason = "removed from the class roster: joined with an invite revoked by a removal"
        wait_until(
            lambda: terminal.exists() and reason in terminal.read_text(),
            60,
            "the refused joiner to be told why, on its terminal",
        )
        told = next(line for line in terminal.read_text().splitlines() if reason in line)
        assert "warning: " in told
        wait_converged(honest)
        assert _stamp(carol, later) < _removal_stamp(teacher, ids[carol])  # backdated
        for viewer in honest:
            store = Store.open(viewer)
            try:
                mine = [s.id.hex() for s in list_submissions(store, author=ids[carol])]
                assert mine == [earlier], viewer.name  # her earlier work stays history
                texts = [m.text for m in chat_log(store)]
                assert "carol-after-removal" not in texts, viewer.name
                assert store.roster_state(ids[again]) == "removed", viewer.name
                for member in (alice, bob):
                    assert store.roster_state(ids[member]) == "member", viewer.name
            finally:
                store.close()
        queue = pc_ok(teacher, "queue", "--json").json()
        assert later not in {s["id"] for s in queue}  # `grade --all` grades the queue
        assert earlier in {s["id"] for s in queue}
    finally:
        for peer in peers.values():
            peer.kill()


@NO_FAKETIME
@needs_sandbox  # `grade` runs the honest work
def test_a_clock_set_back_cannot_make_late_work_on_time(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 2, ["Teacher", "Alice", "Mallory"])
    teacher, (alice, mallory) = dirs.instructor, dirs.students
    files = tmp_path / "files"
    files.mkdir()
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    write(hidden / "01.in", "2 3\n")
    write(hidden / "01.out", "5\n")
    pc_ok(teacher, "settings", "--allowed-skew", "1")

    def publish(due_ms: int, *extra: str) -> str:
        due = dt.datetime.fromtimestamp(due_ms / 1000, tz=dt.UTC).isoformat(timespec="seconds")
        return pc_ok(
            teacher, "problem", "publish", "--title", "Sum", "--due", due,
            "--late-policy", "refuse-grade", "--statement-file", write(files / "s.md", "Add."),
            "--example", write(files / "in", "2 3\n"), write(files / "out", "5\n"), *extra,
        ).out.strip()  # fmt: skip

    problem = publish(hlc.wall_ms() + 24 * 3_600_000)  # due tomorrow, for now
    for student in (alice, mallory):
        relay(teacher, student, load_membership(teacher).peer_id)
    ids = {d: load_membership(d).peer_id for d in (alice, mallory)}
    witness = PeerProcess(teacher, free_udp_port(), ("--no-discovery", "--no-ui"))
    honest = pc_ok(alice, "submit", problem[:8], write(files / "a.py", ADD)).out.split()[-1]
    relay(alice, teacher, ids[alice])  # it reaches the instructor's store in time
    try:
        witness.start()  # its first checkpoint, at once, holds it

        def submissions() -> dict[str, dict[str, object]]:
            return {s["id"]: s for s in pc_ok(teacher, "submissions", "--json").json()}

        wait_until(lambda: submissions()[honest]["attested"] is not None, 60, "a checkpoint")
        # The instructor moves the due time to a few seconds from now; the witness's timer
        # takes it up and writes its checkpoints when it (and the skew after it) passes.
        due_ms = (hlc.wall_ms() // 1000 + 2) * 1000
        publish(due_ms, "--supersedes", problem, "--allow-past")  # past already, on a slow day
        wait_until(lambda: _passed(teacher) > due_ms + 1_000, 60, "the witness's due checkpoint")
        # Four hours after... Mallory's submitting process runs four hours in the past.
        cheat = _faked(mallory, "-4h", "submit", problem[:8], write(files / "m.py", ADD))
        store = Store.open(mallory)
        try:
            claimed = store.event_by_id(bytes.fromhex(cheat))
            assert claimed is not None and hlc.to_ms(claimed.ts) < due_ms  # the claim: in time
        finally:
            store.close()
        relay(mallory, teacher, ids[mallory])
        listed = submissions()
        assert listed[honest]["late"] is False
        assert listed[cheat]["late"] is True
        graded = pc_ok(teacher, "grade", problem[:8], "--tests", str(hidden), "--all").out
        lines = {line.split(":")[0]: line for line in graded.splitlines() if ":" in line}
        assert "not graded" in next(v for k, v in lines.items() if k.startswith("Mallory"))
        assert "not graded" not in next(v for k, v in lines.items() if k.startswith("Alice"))
    finally:
        witness.kill()


def _stamp(data_dir: Path, event: str) -> int:
    store = Store.open(data_dir)
    try:
        found = store.event_by_id(bytes.fromhex(event))
        assert found is not None
        return found.ts
    finally:
        store.close()


def _removal_stamp(teacher: Path, removed: bytes) -> int:
    store = Store.open(teacher)
    try:
        me = load_membership(teacher).peer_id
        events = map(decode_event, store.events_range(me, 0, 10_000))
        return next(
            e.ts
            for e in events
            if e.kind == "roster" and e.body["action"] == "remove" and e.body["peer"] == removed
        )
    finally:
        store.close()


def _faked(data_dir: Path, offset: str, *args: str) -> str:
    """Run one ``peerclass`` command under Debian's ``faketime`` with the clock ``offset``
    (``-4h``); returns the last word it printed (the new event's id)."""
    faked = subprocess.run(
        ["faketime", "-f", offset, sys.executable, "-m", "peer", "--data-dir", str(data_dir),
         *args],
        capture_output=True, text=True, timeout=60, check=True,
        env=os.environ | {"PEERCLASS_DISCOVERY_ADDR": LOOPBACK_BROADCAST},
    )  # fmt: skip
    return faked.stdout.split()[-1]


def _passed(teacher: Path) -> int:
    """The latest time of the teacher's own checkpoints (0 before the first)."""
    store = Store.open(teacher)
    try:
        me = load_membership(teacher).peer_id
        events = map(decode_event, store.events_range(me, 0, 10_000))
        return max((e.body["time"] for e in events if e.kind == "checkpoint"), default=0)
    finally:
        store.close()
