"""``peerclass demo``: a short class session of real peer processes on loopback, narrated."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from peer.testing import (
    PeerProcess,
    cli,
    cli_json,
    free_udp_port,
    heads,
    wait_converged,
    wait_until,
)

NAMES = ["Ms. Kim (instructor)", "Jisoo", "Minho", "Hana", "Yuna", "Taeyang", "Sora", "Dohyun"]


def _say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _show_chat(data_dir: Path, who: str) -> None:
    log = cli_json(data_dir, "chat", "log")
    print(f"   {who} sees {len(log)} messages:")
    for m in log[-6:]:
        print(f"     [{m['room']}] {m['author_name']}: {m['text']}")


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _publish_problem(instructor: Path, files: Path) -> str:
    """A stdin/stdout problem with two examples; returns its id."""
    files.mkdir(exist_ok=True)
    return cli(
        instructor,
        "problem", "publish", "--title", "Sum of two",
        "--statement-file", _write(files / "sum.md", "Read two integers; print their sum."),
        "--example", _write(files / "in1", "2 3\n"), _write(files / "out1", "5\n"),
        "--example", _write(files / "in2", "10 -4\n"), _write(files / "out2", "6\n"),
        "--tag", "warm-up", "--review", "peers",
    ).stdout.strip()  # fmt: skip


def _can_read(data_dir: Path, submission: str) -> bool:
    """Whether ``data_dir``'s identity can open ``submission`` (a share reached it)."""
    return any(s["id"] == submission and s["readable"] for s in cli_json(data_dir, "submissions"))


def _curriculum(data_dir: Path) -> list[object]:
    """What every peer must agree on: the problems, and which submissions and feedback exist
    (their content is sealed to the people who may read it, so it differs by peer)."""
    return [
        cli_json(data_dir, "problem", "list"),
        [s["id"] for s in cli_json(data_dir, "submissions")],
        [f["id"] for f in cli_json(data_dir, "feedback", "list")],
    ]


def _show_feedback(data_dir: Path, who: str) -> None:
    reviews = cli_json(data_dir, "feedback", "list")
    print(f"   {who} sees {len(reviews)} pieces of feedback:")
    for f in reviews:
        if f["verdict"] is None:  # sealed to the submission's author and the instructor
            print(f"     {f['reviewer_name']} [{f['role']}]: (sealed: not for {who})")
            continue
        score = "" if f["score"] is None else f" ({f['score']}/100)"
        print(f"     {f['reviewer_name']} [{f['role']}]: {f['verdict']}{score}: {f['comment']}")


def run_demo(count: int) -> int:
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="peerclass-demo-") as tmp:
        root = Path(tmp)
        dirs = [root / f"peer{i}" for i in range(count)]
        names = [n.split(" (")[0] for n in NAMES[:count]]
        _say(f"Setting up a class of {count} peers in {root}")
        created = cli_json(
            dirs[0], "init", "--name", names[0], "--role", "instructor", "--class", "Networks 101"
        )
        print(f"   {names[0]} created the class; invite {created['invite'][:24]}...")
        for d, name in zip(dirs[1:], names[1:], strict=True):
            invite = cli(dirs[0], "invite", "--for", name).stdout.strip()
            cli(d, "init", "--name", name, "--invite", invite)
            print(f"   {name} joined with a one-student invite (admitted once the peers meet)")

        port = free_udp_port()
        peers = [PeerProcess(d, port) for d in dirs]
        _say(
            "Starting one peer process per person; they find each other by UDP broadcast "
            "on 127.255.255.255"
        )
        for p, name in zip(peers, names, strict=True):
            p.start()
            print(f"   {name}'s peer is listening on {p.address}")
        took = wait_converged(dirs)
        print(f"   all {count} peers found each other and synced profiles in {took:.1f}s")

        _say("Chat: every message goes directly from peer to peer")
        cli(dirs[0], "chat", "send", "Welcome! Today: sockets and peer-to-peer.")
        cli(dirs[1], "chat", "send", "Hi everyone!")
        cli(dirs[2], "chat", "send", "Ready when you are.")
        took = wait_converged(dirs)
        print(f"   3 messages reached all peers in {took:.1f}s")
        _show_chat(dirs[-1], names[-1])

        offline = count - 1
        _say(f"{names[offline]} closes the laptop (SIGTERM); the others keep talking")
        print(f"   {names[offline]}'s peer exited with status {peers[offline].stop()}")
        cli(dirs[0], "chat", "send", "Homework: read about UDP broadcast.")
        cli(dirs[1], "chat", "send", f"I'll tell {names[offline]} later.")
        wait_converged(dirs[:offline])

        _say(f"Curriculum meanwhile: {names[0]} publishes a problem, {names[1]} solves it")
        problem = _publish_problem(dirs[0], root / "files")
        print(f"   problem {problem[:8]} published (official: signed by the instructor's key)")
        wait_converged(dirs[:offline])
        solution = _write(
            root / "files" / "sum.py", "a, b = map(int, input().split())\nprint(a + b)\n"
        )
        submitted = cli(dirs[1], "submit", problem[:8], solution).stdout.splitlines()
        print(f"   {names[1]} submits {submitted[-1][:8]}; {submitted[0]}")
        cli(dirs[0], "feedback", "give", submitted[-1][:8], "--verdict", "accept", "--score", "95",
            "--comment", "Clean and correct.")  # fmt: skip
        print(f"   {names[0]} accepts it with a score of 95")
        wait_converged(dirs[:offline])
        missed = sum(heads(dirs[0]).values()) - sum(heads(dirs[offline]).values())
        print(f"   {names[offline]} missed {missed} events")

        _say(f"{names[offline]} comes back and catches up from whoever is there")
        peers[offline].start()
        took = wait_converged(dirs)
        print(f"   caught up in {took:.1f}s")
        _show_chat(dirs[offline], names[offline])
        _say(f"{names[offline]} submits too; peer review opens {names[1]}'s work to them")
        cli(dirs[offline], "submit", problem[:8], solution)
        # Only readers review (issue 18): the instructor's or the author's peer shares the key.
        wait_until(lambda: _can_read(dirs[offline], submitted[-1]), 30, "the share")
        _say(f"{names[offline]} reviews {names[1]}'s submission as a peer")
        cli(dirs[offline], "feedback", "give", submitted[-1][:8], "--verdict", "accept",
            "--comment", "Nice use of map().")  # fmt: skip
        took = wait_converged(dirs)
        views = [_curriculum(d) for d in dirs]
        same = all(v == views[0] for v in views[1:])
        print(
            f"   converged in {took:.1f}s; problems and the submissions and feedback that exist "
            f"are {'identical' if same else 'NOT identical'} on all {count} peers"
        )
        _show_feedback(dirs[offline], names[offline])

        _say(f"{names[1]}'s peer crashes (SIGKILL) right after sending, then restarts")
        sent = cli(dirs[1], "chat", "send", "Did my message survive the crash?").stdout.strip()
        peers[1].kill()
        peers[1].start()
        took = wait_converged(dirs)
        ids = [m["id"] for m in cli_json(dirs[offline], "chat", "log")]
        print(
            f"   restarted and converged in {took:.1f}s; message {sent[:8]} "
            f"{'is' if sent in ids else 'is NOT'} on {names[offline]}'s peer"
        )

        _say("Everyone agrees: the same heads on every peer")
        status = cli_json(dirs[0], "status")
        print(
            f"   {status['events']} events from {len(status['heads'])} authors, "
            f"{status['forks']} forks"
        )
        heads_line = ", ".join(f"{k[:8]} #{v}" for k, v in sorted(status["heads"].items()))
        print(f"   heads (author: last seq): {heads_line}")
        for p in peers:
            p.stop()
        wait_until(lambda: all(p.process is None for p in peers), 5, "peers to stop")

        _say(f"With every peer stopped, {names[1]} exports a feedback history report")
        report = cli(dirs[1], "report", "--format", "md").stdout.splitlines()
        for line in [line for line in report if line.strip()][:14]:
            print(f"   {line}")
        html = root / "report.html"
        cli(dirs[0], "report", "--class", "--format", "html", "-o", str(html))
        print(f"   ({names[0]} also wrote the class report as HTML: {html.stat().st_size:,} bytes)")
    _say(f"Demo finished in {time.monotonic() - start:.1f}s")
    return 0
