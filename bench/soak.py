"""A class hour, shortened or not: 6 ``peerclass run`` processes on loopback (discovery on
127.255.255.255, a free port) for ``--minutes`` with chat typed into every console, problems
published, solutions submitted and feedback given through the CLI while the peers run; one
peer is put to sleep (SIGSTOP, then SIGCONT) and another is stopped and started again.

Prints how long the awake peers took to converge after activity (checked every 30 s), how
long the sleeper and the restarted peer took to catch up, log lines per peer-minute (the
terminal and the log file), and each peer's peak memory (and RSS over time).

    python bench/soak.py [--minutes 15] [--peers 6] [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BenchPeer,
    author_hex,
    heads_of,
    make_class,
    median,
    peerclass,
    rss_mib,
    wait_for,
)

from peer.testing import free_udp_port

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
CHECK_EVERY = 30.0
#: A convergence check that has not converged after this long is reported as never.
CHECK_LIMIT = 120.0


@attrs.define
class Check:
    label: str
    started: float
    target: dict[bytes, int]
    peers: list[int]  # indexes of the peers that must reach the target
    took: float | None = None


@attrs.define
class Soak:
    peers: list[BenchPeer]
    files: Path
    rng: random.Random
    asleep: int | None = None
    down: int | None = None
    checks: list[Check] = attrs.field(factory=list)
    done: Counter[str] = attrs.field(factory=Counter)
    failures: Counter[str] = attrs.field(factory=Counter)
    rss: dict[int, list[float]] = attrs.field(factory=dict)
    peaks: dict[int, float] = attrs.field(factory=dict)
    problems: int = 0

    def awake(self) -> list[int]:
        return [i for i in range(len(self.peers)) if i not in (self.asleep, self.down)]

    # ---- activity ------------------------------------------------------------------------

    def chat(self) -> None:
        i = self.rng.choice(self.awake())
        self.peers[i].console.type(f"soak message {self.done['chat']} from peer {i}")
        self.done["chat"] += 1

    def cli(self, i: int, what: str, *args: str) -> str | None:
        """Run a command on peer ``i``'s data dir while its peer runs; None if it failed."""
        try:
            out = peerclass(self.peers[i].data_dir, *args)
        except (RuntimeError, SystemExit) as exc:
            self.failures[f"{what}: {exc}"] += 1
            return None
        self.done[what] += 1
        return out

    def publish(self) -> None:
        if 0 not in self.awake():
            return
        self.problems += 1
        statement = self.files / f"p{self.problems}.md"
        statement.write_text(f"Problem {self.problems}: add two numbers.")
        (self.files / "in").write_text("2 3\n")
        (self.files / "out").write_text("5\n")
        self.cli(0, "problem", "problem", "publish", "--title", f"Sum {self.problems}",
                 "--statement-file", str(statement),
                 "--example", str(self.files / "in"), str(self.files / "out"))  # fmt: skip

    def submit(self) -> None:
        students = [i for i in self.awake() if i != 0]
        if not students:
            return
        i = self.rng.choice(students)
        problem = _latest(self.peers[i].data_dir, "problems", "root")
        if problem is None:
            return
        solution = self.files / "add.py"
        solution.write_text(ADD)
        self.cli(i, "submission", "submit", problem.hex()[:16], str(solution))

    def review(self) -> None:
        reviewers = self.awake()
        i = self.rng.choice(reviewers)
        # Only readers review (issue 18): a submission this peer can open.
        submission = _latest(
            self.peers[i].data_dir, "submissions", "event_id", not_by=i, where="readable"
        )
        if submission is None:
            return
        self.cli(i, "feedback", "feedback", "give", submission.hex()[:16],
                 "--verdict", self.rng.choice(["accept", "revise"]),
                 "--comment", "soak review")  # fmt: skip

    # ---- disruptions -----------------------------------------------------------------------

    def sleep(self, i: int) -> None:
        self.peers[i].signal(signal.SIGSTOP)
        self.asleep = i

    def wake(self) -> float:
        """SIGCONT the sleeper; seconds until it caught up with the others."""
        assert self.asleep is not None
        i, self.asleep = self.asleep, None
        target = self.union(self.awake())
        self.peers[i].signal(signal.SIGCONT)
        return self.catch_up(i, target)

    def stop(self, i: int) -> None:
        self.note_memory(i)
        self.peers[i].process.stop()
        self.down = i

    def start_again(self) -> float:
        """Start the stopped peer again; seconds from its 'listening on' to caught up."""
        assert self.down is not None
        i, self.down = self.down, None
        self.peers[i].process.start(timeout=120)
        return self.catch_up(i, self.union([j for j in self.awake() if j != i]))

    def catch_up(self, i: int, target: dict[bytes, int]) -> float:
        took = wait_for(lambda: _holds(self.peers[i].data_dir, target), CHECK_LIMIT, 0.1)
        return float("nan") if took is None else took

    # ---- measuring -------------------------------------------------------------------------

    def union(self, indexes: list[int]) -> dict[bytes, int]:
        target: dict[bytes, int] = {}
        for i in indexes:
            for author, seq in heads_of(self.peers[i].data_dir).items():
                target[author] = max(seq, target.get(author, 0))
        return target

    def start_check(self, label: str) -> None:
        awake = self.awake()
        self.checks.append(Check(label, time.monotonic(), self.union(awake), awake))

    def poll_checks(self) -> None:
        now = time.monotonic()
        for check in self.checks:
            if check.took is not None or now - check.started > CHECK_LIMIT:
                continue
            if all(_holds(self.peers[i].data_dir, check.target) for i in check.peers
                   if i in self.awake()):  # fmt: skip
                check.took = now - check.started

    def note_memory(self, i: int) -> None:
        process = self.peers[i].process.process
        if process is None:
            return
        self.rss.setdefault(i, []).append(rss_mib(process.pid))
        self.peaks[i] = max(self.peaks.get(i, 0.0), self.peers[i].peak_rss_mib())


def _holds(data_dir: Path, target: dict[bytes, int]) -> bool:
    heads = heads_of(data_dir)
    return all(heads.get(author, 0) >= seq for author, seq in target.items())


def _latest(
    data_dir: Path, table: str, column: str, not_by: int | None = None, where: str = "1"
) -> bytes | None:
    """The newest row's ``column`` in ``table`` of a peer's store (read-only)."""
    query = f"SELECT {column}, author FROM {table} WHERE {where} ORDER BY ts DESC LIMIT 20"
    with contextlib.closing(
        sqlite3.connect(f"file:{data_dir / 'peerclass.db'}?mode=ro", uri=True, timeout=15)
    ) as conn:
        rows = conn.execute(query).fetchall()
    if not_by is not None:
        me = bytes.fromhex(author_hex(data_dir))
        rows = [r for r in rows if r[1] != me]
    return rows[0][0] if rows else None


def log_lines(peer: BenchPeer) -> tuple[int, int, int]:
    """Lines the peer wrote: arrivals shown on its terminal (``[room] ...``, ``[curriculum]
    ...``), every other terminal line (stdout and stderr), and lines in its log file(s)."""
    arrivals = sum(1 for line in peer.process.lines if line.startswith("["))
    other = len(peer.process.lines) - arrivals
    with contextlib.suppress(OSError):
        other += len((peer.data_dir / "run.log").read_text(errors="replace").splitlines())
    in_files = 0
    for path in peer.data_dir.glob("peerclass.log*"):
        with contextlib.suppress(OSError):
            in_files += len(path.read_text(errors="replace").splitlines())
    return arrivals, other, in_files


def run(minutes: float, n: int, seed: int) -> int:
    rng = random.Random(seed)
    duration = minutes * 60
    with tempfile.TemporaryDirectory(prefix="peerclass-soak-") as tmp:
        root = Path(tmp)
        dirs = make_class(root, n - 1)
        files = root / "files"
        files.mkdir()
        port = free_udp_port()
        peers: list[BenchPeer] = []
        try:
            for d in dirs:
                peers.append(BenchPeer.start(d, port, probe=False))
            soak = Soak(peers, files, rng)
            sleeper, restarter = 2 % n, 3 % n
            plan = {
                "sleep": 0.30 * duration,
                "wake": 0.30 * duration + min(60.0, 0.1 * duration),
                "stop": 0.55 * duration,
                "start": 0.55 * duration + min(30.0, 0.05 * duration),
            }
            results: dict[str, float] = {}
            start = time.monotonic()
            next_chat = next_check = next_memory = start
            next_problem, next_submit, next_review = start, start + 5, start + 10
            print(f"soak: {n} peers for {minutes:g} min in {root}", flush=True)
            while (now := time.monotonic()) - start < duration:
                elapsed = now - start
                for step in [s for s, at in plan.items() if elapsed >= at]:
                    del plan[step]
                    if step == "sleep":
                        soak.sleep(sleeper)
                        print(f"  {elapsed / 60:5.1f} min: peer {sleeper} SIGSTOP", flush=True)
                    elif step == "wake":
                        results["wake"] = soak.wake()
                        print(f"  {elapsed / 60:5.1f} min: peer {sleeper} SIGCONT, caught up "
                              f"in {results['wake']:.2f} s", flush=True)  # fmt: skip
                    elif step == "stop":
                        soak.stop(restarter)
                        print(f"  {elapsed / 60:5.1f} min: peer {restarter} stopped", flush=True)
                    elif step == "start":
                        results["restart"] = soak.start_again()
                        print(f"  {elapsed / 60:5.1f} min: peer {restarter} started again, "
                              f"caught up in {results['restart']:.2f} s", flush=True)  # fmt: skip
                if now >= next_chat:
                    soak.chat()
                    next_chat = now + rng.uniform(0.2, 0.8)  # about 2 messages a second
                if now >= next_problem:
                    soak.publish()
                    next_problem = now + max(60.0, duration / 5)
                if now >= next_submit:
                    soak.submit()
                    next_submit = now + rng.uniform(10, 30)
                if now >= next_review:
                    soak.review()
                    next_review = now + rng.uniform(10, 30)
                if now >= next_check:
                    soak.start_check(f"{elapsed / 60:.1f} min")
                    next_check = now + CHECK_EVERY
                if now >= next_memory:
                    for i in soak.awake():
                        soak.note_memory(i)
                    next_memory = now + 60
                soak.poll_checks()
                time.sleep(0.05)
            last = soak.union(list(range(n)))
            final = wait_for(lambda: all(_holds(d, last) for d in dirs), CHECK_LIMIT, 0.1)
            soak.poll_checks()
            for i in range(n):
                soak.note_memory(i)
            lines = [log_lines(p) for p in peers]
        finally:
            for p in peers:
                with contextlib.suppress(Exception):
                    p.stop()
    report(soak, results, final, lines, minutes)
    return 0


def report(
    soak: Soak,
    results: dict[str, float],
    final: float | None,
    lines: list[tuple[int, int, int]],
    minutes: float,
) -> None:
    took = [c.took for c in soak.checks if c.took is not None]
    never = sum(1 for c in soak.checks if c.took is None)
    done = ", ".join(f"{count} {what}" for what, count in sorted(soak.done.items()))
    print(f"\nsoak of {len(soak.peers)} peers, {minutes:g} min: {done}")
    for failure, count in soak.failures.most_common(5):
        print(f"  refused {count}x: {failure}")
    print(
        f"convergence of the awake peers after activity (checked every {CHECK_EVERY:.0f} s): "
        f"median {median(took):.2f} s, max {max(took, default=float('nan')):.2f} s over "
        f"{len(took)} checks; {never} not converged within {CHECK_LIMIT:.0f} s"
    )
    print(
        f"sleeper caught up {results.get('wake', float('nan')):.2f} s after SIGCONT; restarted "
        f"peer caught up {results.get('restart', float('nan')):.2f} s after 'listening on'; "
        f"all peers converged {'never' if final is None else f'{final:.2f} s'} after the end"
    )
    print(
        "per peer-minute: arrivals shown / other terminal lines / log file lines; "
        "peak MiB; RSS MiB each minute"
    )
    for i, (arrivals, other, in_files) in enumerate(lines):
        samples = " ".join(f"{s:.0f}" for s in soak.rss.get(i, []))
        print(
            f"  peer {i}: {arrivals / minutes:6.1f} / {other / minutes:5.1f} / "
            f"{in_files / minutes:5.1f}; peak {soak.peaks.get(i, float('nan')):4.0f}; {samples}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--peers", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 0.5 <= args.minutes <= 120 or not 6 <= args.peers <= 20:
        parser.error("--minutes must be 0.5 to 120 and --peers 6 to 20")
    return run(args.minutes, args.peers, args.seed)


if __name__ == "__main__":
    sys.exit(main())
