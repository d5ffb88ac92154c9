"""Real ``peerclass run`` processes on loopback: the curriculum reaches a student who was away,
and the running peers announce what concerns their users."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peer.testing import PeerProcess, cli, cli_json, free_udp_port, wait_converged, wait_until
from tests.helpers import make_class

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def _file(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _curriculum(data_dir: Path) -> tuple[Any, Any, Any]:
    """What every peer agrees on: the problems, and the visible fields of submissions and
    feedback (their content is sealed to its readers, issue 10)."""
    visible = ("id", "author", "attempt", "reviewer", "role", "submission_id", "ts")
    return (
        cli_json(data_dir, "problem", "list"),
        [{k: s[k] for k in visible if k in s} for s in cli_json(data_dir, "submissions")],
        [{k: f[k] for k in visible if k in f} for f in cli_json(data_dir, "feedback", "list")],
    )


def _reads(data_dir: Path, submission: str) -> bool:
    return any(s["id"] == submission and s["readable"] for s in cli_json(data_dir, "submissions"))


def _printed(peer: PeerProcess, text: str) -> bool:
    return any(text in line for line in peer.lines)


def test_a_student_who_was_offline_sees_exactly_what_the_others_see(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 3, ["Teacher", "Alice", "Bob", "Carol"])
    teacher, alice, bob, carol = dirs.all
    files = tmp_path / "files"
    files.mkdir()
    port = free_udp_port()
    peers = [PeerProcess(d, port) for d in dirs.all]
    try:
        for peer in peers:
            peer.start()
        wait_converged(dirs.all)
        problem = cli(
            teacher,
            "problem", "publish", "--title", "Sum",
            "--statement-file", _file(files / "sum.md", "Add two numbers."),
            "--example", _file(files / "in", "2 3\n"), _file(files / "out", "5\n"),
            "--review", "peers",
        ).stdout.strip()  # fmt: skip
        wait_converged(dirs.all)
        wait_until(lambda: _printed(peers[2], "new official problem 'Sum'"), 15, "announcement")

        assert peers[3].stop() == 0  # Carol goes offline
        online = dirs.all[:3]
        solution = _file(files / "add.py", ADD)
        alices = cli(alice, "submit", problem[:8], solution).stdout.split()[-1]
        wait_converged(online)
        bobs = cli(bob, "submit", problem[:8], solution).stdout.split()[-1]
        wait_converged(online)
        # Only readers review (issue 18): each opens the other's work once a share arrives.
        wait_until(
            lambda: _reads(alice, bobs) and _reads(bob, alices), 30, "shares for peer review"
        )
        cli(alice, "feedback", "give", bobs[:8], "--verdict", "accept", "--comment", "Short!")
        cli(bob, "feedback", "give", alices[:8], "--verdict", "revise", "--comment", "Names?")
        cli(teacher, "feedback", "give", alices[:8], "--verdict", "accept", "--score", "90",
            "--comment", "Good.")  # fmt: skip
        wait_converged(online)

        peers[3].start()  # Carol comes back
        wait_converged(dirs.all)
        carols = _curriculum(carol)
        assert all(_curriculum(d) == carols for d in online)
        problems, submissions, feedback = carols
        assert (len(problems), len(submissions), len(feedback)) == (1, 2, 3)
        assert {f["role"] for f in feedback} == {"peer", "instructor"}

        told = [
            "new official problem 'Sum'",
            "submitted attempt 1 at 'Sum'",  # Bob's, to a problem Alice submitted to too
            "(instructor) on your attempt 1 at 'Sum': accept (90/100)",
            "(peer) on your attempt 1 at 'Sum': revise",
        ]
        wait_until(
            lambda: all(_printed(peers[1], line) for line in told), 15, "Alice's announcements"
        )
        assert sum("[curriculum]" in line for line in peers[1].lines) == len(told)
        assert not _printed(peers[3], "on your attempt")  # Carol submitted nothing
    finally:
        for peer in peers:
            if peer.process is not None:
                peer.stop()
