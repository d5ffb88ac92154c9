"""Real ``peerclass run`` processes on loopback, a class with a roster and sealed work: the
instructor's peer admits one-student invites by itself, each store holds only what its owner
may read (checked with sqlite3, under the application), peer review opens submissions to
classmates who submitted, and a removed student is cut off while their history stays."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from peer.identity import load_membership
from peer.testing import PeerProcess, cli, cli_json, free_udp_port, wait_converged, wait_until
from storage import Store
from storage._store import DB_FILE
from storage.queries import get_submission, list_submissions


def dump(data_dir: Path) -> str:
    """The whole database as SQL text, read with sqlite3 (not through peerclass)."""
    with sqlite3.connect(data_dir / DB_FILE) as db:
        return "\n".join(db.iterdump())


def roster_states(data_dir: Path) -> dict[str, str]:
    store = Store.open(data_dir)
    try:
        roster = store.roster()
        assert roster is not None
        return {e.name: e.state for e in roster.entries.values()}
    finally:
        store.close()


def solution_seen(reader: Path, submission: str) -> str | None:
    store = Store.open(reader)
    try:
        found = get_submission(store, bytes.fromhex(submission))
        return None if found is None else found.solution
    finally:
        store.close()


def _file(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_a_class_with_a_roster_keeps_each_students_work_to_its_readers(tmp_path: Path) -> None:
    teacher = tmp_path / "teacher"
    cli(teacher, "init", "--name", "Teacher", "--role", "instructor", "--class", "Privacy")
    names = ["Alice", "Bob", "Carol"]
    alice, bob, carol = (tmp_path / n.lower() for n in names)
    for name, d in zip(names, (alice, bob, carol), strict=True):
        invite = cli(teacher, "invite", "--for", name).stdout.strip()
        cli(d, "init", "--name", f"{name}'s laptop", "--invite", invite)
    everyone = [teacher, alice, bob, carol]
    files = tmp_path / "files"
    files.mkdir()
    port = free_udp_port()
    peers = [PeerProcess(d, port) for d in everyone]
    try:
        for peer in peers:
            peer.start()
        # The instructor's running peer admits each joiner, under the invite's name.
        wait_until(
            lambda: roster_states(teacher) == {n: "member" for n in ["Teacher", *names]},
            30,
            "the instructor's peer to admit the three joiners",
        )
        wait_converged(everyone)
        statement = _file(files / "p.md", "Print a number.")
        graded = cli(teacher, "problem", "publish", "--title", "Graded",
                     "--statement-file", statement).stdout.strip()  # fmt: skip
        review = cli(teacher, "problem", "publish", "--title", "Reviewed", "--review", "peers",
                     "--statement-file", statement).stdout.strip()  # fmt: skip
        wait_converged(everyone)

        def submit(who: Path, problem: str, text: str) -> str:
            path = _file(files / f"{who.name}-{problem[:4]}.py", text)
            return cli(who, "submit", problem[:8], path).stdout.split()[-1]

        alice_graded = submit(alice, graded, "print(1)  # alice-graded-secret")
        alice_review = submit(alice, review, "print(2)  # alice-review-shared")
        submit(bob, review, "print(3)  # bob-review-shared")
        carol_graded = submit(carol, graded, "print(4)  # carol-before-removal")
        wait_converged(everyone)
        cli(teacher, "feedback", "give", alice_graded[:8], "--verdict", "accept", "--score",
            "88", "--comment", "teacher-secret-comment")  # fmt: skip
        # Bob submitted to the peer-review problem: a share (from the instructor's peer or
        # Alice's) opens Alice's submission to him. Carol did not submit: nothing for her.
        wait_until(
            lambda: solution_seen(bob, alice_review) == "print(2)  # alice-review-shared",
            30,
            "a share opening Alice's peer-review submission to Bob",
        )
        # Only now may Bob review it: only readers review (issue 18).
        cli(bob, "feedback", "give", alice_review[:8], "--verdict", "revise",
            "--comment", "bob-peer-comment")  # fmt: skip
        wait_converged(everyone)

        in_teacher, in_bob, in_carol = dump(teacher), dump(bob), dump(carol)
        for secret in ("alice-graded-secret", "teacher-secret-comment", "bob-peer-comment"):
            assert secret in in_teacher
        for secret in ("alice-graded-secret", "teacher-secret-comment"):
            assert secret not in in_bob and secret not in in_carol
        assert "alice-review-shared" in in_bob and "alice-review-shared" not in in_carol
        assert "bob-peer-comment" not in in_carol and "carol-before-removal" not in in_bob

        # Carol is removed while connected: every peer closes her sessions at once (no grace,
        # unlike a newcomer's) and refuses her redials.
        log = carol / "peerclass.log"
        before = len(log.read_text())
        cli(teacher, "remove", "Carol")
        wait_converged(everyone[:3])

        def cut_off() -> bool:
            seen = [
                p for o in everyone[:3] for p in cli_json(o, "peers")
                if p["name"] == "Carol (removed)"
            ]  # fmt: skip
            return len(seen) == 3 and not any(p["connected"] for p in seen)

        wait_until(cut_off, 45, "the three others to cut Carol off")
        refusals = ("said goodbye: not a member of this class", "removed from the class roster")
        assert any(r in log.read_text()[before:] for r in refusals)
        store = Store.open(teacher)
        try:
            assert store.roster_state(load_membership(carol).peer_id) == "removed"
            kept = [
                s.id.hex() for s in list_submissions(store) if s.author_name == "Carol (removed)"
            ]
            assert kept == [carol_graded]  # her earlier history stays
        finally:
            store.close()
    finally:
        for peer in peers:
            peer.kill()
