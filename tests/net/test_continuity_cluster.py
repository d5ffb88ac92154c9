"""Real ``peerclass run`` processes (issue 22): a student's laptop is lost. Its backup,
restored on a new data dir while the original still runs, is caught as a live twin; with the
original gone, the restored peer fetches its history from the instructor's and reads its
graded submission again, sealed content included. Then the instructor's store is damaged
(a flipped byte in an event and in a projection row): ``verify`` finds both, ``--repair``
mends the projections and drops the damaged event, and the next sync brings it back."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from peer.identity import load_membership
from peer.testing import PeerProcess, free_udp_port, wait_converged, wait_until
from storage import Store
from storage._store import DB_FILE
from storage.queries import get_submission, list_feedback
from tests.helpers import pc, pc_ok

SOLUTION = "print(int(input()) * 2)  # dana-sealed-solution\n"


def readable(data_dir: Path, submission: str) -> tuple[str | None, str | None]:
    """What ``data_dir``'s identity reads of the submission and of its instructor verdict."""
    store = Store.open(data_dir)
    try:
        sub = get_submission(store, bytes.fromhex(submission))
        verdicts = list_feedback(
            store, load_membership(data_dir).klass.instructor, submission=bytes.fromhex(submission)
        )
    finally:
        store.close()
    solution = None if sub is None else sub.solution
    return solution, (verdicts[0].comment if verdicts else None)


def test_a_restored_student_reads_its_graded_work_again(tmp_path: Path) -> None:
    teacher, dana = tmp_path / "teacher", tmp_path / "dana"
    pc_ok(teacher, "init", "--name", "Teacher", "--role", "instructor", "--class", "Lost",
        "--no-recovery-phrase")  # fmt: skip
    pc_ok(dana, "init", "--name", "Dana", "--invite", pc_ok(teacher, "invite", "--for", "Dana").out)
    files = tmp_path / "files"
    files.mkdir()
    (files / "p.md").write_text("Double it.")
    (files / "s.py").write_text(SOLUTION)
    (files / "pw").write_text("correct horse battery staple\n")
    port = free_udp_port()
    peers = {d: PeerProcess(d, port, ["--no-ui"]) for d in (teacher, dana)}
    try:
        for peer in peers.values():
            peer.start()
        problem = pc_ok(teacher, "problem", "publish", "--title", "Double",
                      "--statement-file", str(files / "p.md")).out.strip()  # fmt: skip
        wait_converged([teacher, dana])
        wait_until(lambda: "Dana" in pc_ok(dana, "roster").out, 30, "Dana to be admitted")
        sub = pc_ok(dana, "submit", problem[:8], str(files / "s.py")).out.split()[-1]
        wait_converged([teacher, dana])
        pc_ok(teacher, "feedback", "give", sub[:8], "--verdict", "accept", "--score", "93",
            "--comment", "teacher-sealed-comment")  # fmt: skip
        wait_converged([teacher, dana])
        assert readable(dana, sub) == (SOLUTION, "teacher-sealed-comment")

        backup = tmp_path / "dana.pcb"
        pc_ok(dana, "backup", "-o", str(backup), "--passphrase-file", str(files / "pw"),
            "--kdf", "interactive")  # fmt: skip
        # The new laptop: restored while the old one still runs, it is a live twin.
        laptop = tmp_path / "new-laptop"
        pc_ok(laptop, "restore", str(backup), "--passphrase-file", str(files / "pw"))
        assert load_membership(laptop).peer_id == load_membership(dana).peer_id
        peers[laptop] = PeerProcess(laptop, port, ["--no-ui"]).start()
        twin = "another copy of this identity"
        wait_until(
            lambda: any(twin in line for p in (peers[dana], peers[laptop]) for line in p.lines),
            45,
            "the clone detection to report the restored copy",
        )
        peers[dana].kill()
        shutil.rmtree(dana)

        # The restored peer fetches its history from the instructor's and reads it again.
        wait_converged([teacher, laptop])
        assert readable(laptop, sub) == (SOLUTION, "teacher-sealed-comment")

        # Damage in the instructor's store: one of Dana's events, one projection row.
        peers[teacher].stop()
        dana_id = load_membership(laptop).peer_id
        with sqlite3.connect(teacher / DB_FILE) as db:
            raw = db.execute(
                "SELECT raw FROM events WHERE author = ? AND seq = 1", (dana_id,)
            ).fetchone()[0]
            flipped = raw[:-70] + bytes([raw[-70] ^ 0x01]) + raw[-69:]
            db.execute("UPDATE events SET raw = ? WHERE author = ? AND seq = 1", (flipped, dana_id))
            db.execute("UPDATE problems SET title = 'Tampered'")
        found = pc(teacher, "verify")
        assert found.code == 1
        lines = found.out.splitlines()
        assert any(line.startswith(f"log {dana_id.hex()[:8]}: event #1 ") for line in lines)
        assert "projection problems: differs from a rebuild from the logs" in lines
        repaired = pc(teacher, "verify", "--repair")
        assert repaired.code == 0, repaired.out + repaired.err
        assert "Tampered" not in pc_ok(teacher, "problem", "list").out
        assert f"{dana_id.hex()}" not in pc_ok(teacher, "status", "--json").out
        peers[teacher].start()
        wait_converged([teacher, laptop])
        assert pc_ok(teacher, "verify").out.startswith("ok: ")
        assert readable(teacher, sub) == (SOLUTION, "teacher-sealed-comment")
    finally:
        for peer in peers.values():
            peer.kill()
