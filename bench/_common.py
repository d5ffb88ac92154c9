"""What the network benches share: a class of data dirs, peers run through the probe with a
pty for a console, figures read back from their stores and probes. Loopback only."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import signal
import sqlite3
import statistics
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from peer.cli import build_parser
from peer.cli import main as peerclass_main
from peer.identity import load_membership
from peer.testing import PeerProcess

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from _probe import read_probe  # noqa: E402

PROBE = [sys.executable, str(BENCH_DIR / "_probe.py")]


def peerclass(data_dir: Path, *args: str) -> str:
    """Run one command in this process (no interpreter start-up); its stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = peerclass_main(["--data-dir", str(data_dir), *args])
    if code != 0:
        raise RuntimeError(f"peerclass {' '.join(args)} failed with status {code}")
    return out.getvalue()


def make_class(root: Path, students: int) -> list[Path]:
    """An instructor's data dir and ``students`` students' dirs, all in one class (admitted to
    the roster, where the program has one)."""
    teacher = root / "p00"
    made = json.loads(
        peerclass(
            teacher, "init", "--name", "Teacher", "--role", "instructor", "--class", "B", "--json"
        )
    )
    dirs = [teacher]
    for i in range(1, students + 1):
        d = root / f"p{i:02d}"
        peerclass(d, "init", "--name", f"S{i:02d}", "--invite", made["invite"], "--json")
        dirs.append(d)
    if "admit" in _commands():
        for d in dirs[1:]:
            admit(teacher, d)
    return dirs


def _commands() -> dict[str, Any]:
    parser = build_parser()
    return parser._subparsers._group_actions[0].choices  # type: ignore[union-attr,no-any-return]


def run_flags() -> list[str]:
    """What every bench peer is run with: no web UI and no mDNS, where the program has them (the
    benches measure the peer, not a browser's page, and send nothing beyond loopback)."""
    run = _commands()["run"]
    # Discovery stays on 127.255.255.255 (set by PeerProcess): no mDNS on a real interface.
    return [f for f in ("--no-ui", "--no-mdns") if f in run._option_string_actions]


def admit(teacher: Path, student: Path) -> None:
    """Hand ``student``'s log (its join) to the instructor, who admits it to the roster."""
    from storage import Store

    source, target = Store.open(student), Store.open(teacher)
    try:
        me = next(iter(source.heads()))
        target.ingest(source.events_range(me, 0, 1000))
    finally:
        source.close()
        target.close()
    peerclass(teacher, "admit", me.hex())


@attrs.define(eq=False)
class Console:
    """A peer's terminal: lines written here are typed into its console (sent as chat)."""

    master: int
    slave: int

    @classmethod
    def open(cls) -> Console:
        master, slave = pty.openpty()
        mode = termios.tcgetattr(slave)
        mode[3] &= ~termios.ECHO  # nobody reads the echo; it must not fill up
        termios.tcsetattr(slave, termios.TCSANOW, mode)
        return cls(master, slave)

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@attrs.define(eq=False)
class BenchPeer:
    """One ``peerclass run`` under the probe, with a console."""

    data_dir: Path
    process: PeerProcess
    console: Console
    author: str = ""  # hex id

    @classmethod
    def start(
        cls, data_dir: Path, discovery_port: int, extra: Sequence[str] = (), *, probe: bool = True
    ) -> BenchPeer:
        console = Console.open()
        proc = PeerProcess(
            data_dir,
            discovery_port,
            [*run_flags(), *extra],
            launcher=PROBE if probe else None,
            stdin=console.slave,
        )
        proc.start(timeout=120)
        return cls(data_dir, proc, console, author_hex(data_dir))

    def signal(self, signum: int) -> None:
        if self.process.process is not None:
            self.process.process.send_signal(signum)

    def snapshot(self) -> dict[str, Any]:
        """Ask the probe for its counters and wait for the file to be rewritten."""
        path = self.data_dir / "probe.json"
        before = path.stat().st_mtime_ns if path.exists() else 0
        self.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_mtime_ns != before:
                with contextlib.suppress(ValueError):
                    return read_probe(self.data_dir)
            time.sleep(0.02)
        raise TimeoutError(f"no probe counters from {self.data_dir}")

    def cpu_seconds(self) -> float:
        """User + system CPU this peer's process used so far (``/proc/<pid>/stat``)."""
        if self.process.process is None:
            return float("nan")
        return cpu_seconds(self.process.process.pid)

    def peak_rss_mib(self) -> float:
        if self.process.process is None:
            return float("nan")
        return peak_rss_mib(self.process.process.pid)

    def stop(self) -> None:
        try:
            self.process.stop()
        except Exception:
            self.process.kill()
        self.console.close()


def author_hex(data_dir: Path) -> str:
    """The peer id of ``data_dir`` (read from its files: safe in any thread)."""
    return load_membership(data_dir).peer_id.hex()


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data_dir / 'peerclass.db'}?mode=ro", uri=True, timeout=15)


def head_of(data_dir: Path, author: str) -> int:
    with contextlib.closing(_db(data_dir)) as conn:
        key = (bytes.fromhex(author),)
        row = conn.execute("SELECT seq FROM heads WHERE author = ?", key).fetchone()
    return 0 if row is None else int(row[0])


def heads_of(data_dir: Path) -> dict[bytes, int]:
    with contextlib.closing(_db(data_dir)) as conn:
        return dict(conn.execute("SELECT author, seq FROM heads").fetchall())


def connections(data_dir: Path) -> int:
    with contextlib.closing(_db(data_dir)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM peers WHERE connected").fetchone()[0])


def wait_for(condition: Any, timeout: float, step: float = 0.05) -> float | None:
    """Seconds until ``condition()`` held, or None after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            return None
        time.sleep(step)
    return time.monotonic() - start


def wait_mesh_stable(dirs: Sequence[Path], settle: float = 2.0, timeout: float = 30.0) -> list[int]:
    """Wait until no peer's connection count changed for ``settle`` seconds; the counts."""
    last: list[int] = []
    since = time.monotonic()
    start = since
    while time.monotonic() - start < timeout:
        now = [connections(d) for d in dirs]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= settle and min(now) > 0:
            break
        time.sleep(0.2)
    return last


def peak_rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds, from ``/proc/<pid>/stat`` (NaN once it is gone).
    The fields after the command name (which may hold spaces) are split after its ')'."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def delta(after: dict[str, Any], before: dict[str, Any], key: str) -> int:
    return int(after[key]) - int(before[key])


def load_note() -> str:
    """The machine's load averages (1, 5, 15 min): these benches share 2 cores with whatever
    else runs, and the figures mean little without it."""
    one, five, fifteen = os.getloadavg()
    stamp = time.strftime("%H:%M:%S UTC", time.gmtime())
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores at {stamp}"
