"""Big histories: a store of 1 M chat events, and what reading it costs.

Builds the store once (or reuses ``--store DIR`` when it already holds the events): real
signed ~250-byte chat events from 20 authors in two rooms, made in worker processes and
stored through the store's own receive path (``Store.ingest``), as a catch-up would. Then runs
each command as its own ``peerclass`` process and prints its wall time, peak memory (the
child's maximum RSS) and how much it printed; and the bytes a stored event costs (database
file over events, and per table and index where SQLite's ``dbstat`` is available).

    python bench/history.py [--events 1000000] [--store DIR]
        [--command 'chat log --limit 50' ...]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nacl.signing

from peer.log import make_event
from peer.testing import peerclass_command

AUTHORS = 20
CHUNK = 2000
TEXT = "x" * 66  # with the envelope: about 250 bytes per event
BASE_TS = 1_800_000_000_000 << 16  # an HLC value in 2027: after any real event of the class

DEFAULT_COMMANDS = [
    "chat log --limit 50",
    "chat log --room homework --limit 50",
    "chat log --limit 50 --before {middle}",
    "chat log --since {recent}",
    "chat log --limit 50 --json",
    "chat log",
    # The curriculum reads never touch the chat log: a big chat history costs them nothing.
    "submissions --limit 50",
    "report --class --format json",
]


def make_chunk(job: tuple[bytes, int, int, int, bytes | None]) -> tuple[list[bytes], bytes]:
    """Events ``first`` .. ``first + count - 1`` of one author's log (run in a worker)."""
    seed, index, first, count, prev = job
    key = nacl.signing.SigningKey(seed)
    raws = []
    for seq in range(first, first + count):
        room = "homework" if seq % 10 == 0 else "general"
        ts = BASE_TS + (seq * AUTHORS + index) * 1000
        body = {"room": room, "text": f"{seq} {TEXT}"}
        ev = make_event(key, seq=seq, prev=prev, ts=ts, kind="chat", body=body)
        raws.append(ev.raw)
        prev = ev.id
    return raws, prev if prev is not None else b""


def build(data_dir: Path, events: int) -> None:
    """Fill ``data_dir`` with ``events`` chat events through ``Store.ingest``."""
    from storage import Store

    seeds = [os.urandom(32) for _ in range(AUTHORS)]
    per_author = events // AUTHORS
    store = Store.open(data_dir)
    prevs: list[bytes | None] = [None] * AUTHORS
    started, stored = time.perf_counter(), 0
    try:
        with multiprocessing.Pool(2) as pool:
            for first in range(1, per_author + 1, CHUNK):
                count = min(CHUNK, per_author - first + 1)
                jobs = [(seeds[i], i, first, count, prevs[i]) for i in range(AUTHORS)]
                for i, (raws, last) in enumerate(pool.imap(make_chunk, jobs)):
                    result = store.ingest(raws)
                    if result.rejected:
                        raise RuntimeError(f"the store refused an event: {result.rejected[0]}")
                    stored += len(result.stored)
                    prevs[i] = last
                rate = stored / (time.perf_counter() - started)
                print(f"  {stored:,} events stored ({rate:,.0f}/s)", end="\r", flush=True)
    finally:
        store.close()
    print(f"  {stored:,} events stored in {time.perf_counter() - started:.0f} s")


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "peerclass.db", timeout=30)


def count_chat(data_dir: Path) -> int:
    with contextlib.closing(_db(data_dir)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'chat'").fetchone()[0])


def size_report(data_dir: Path) -> Iterator[str]:
    """Bytes per stored event: the whole file, then each table and index."""
    with contextlib.closing(_db(data_dir)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        events = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        page_size, pages, free = (
            conn.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("page_size", "page_count", "freelist_count")
        )
        used = (pages - free) * page_size
        yield (
            f"store: {events:,} events, file {pages * page_size / 2**20:,.0f} MiB "
            f"({free * page_size / 2**20:,.0f} MiB free pages): {used / events:,.0f} bytes per "
            f"stored event; raw event {_mean_raw(conn):.0f} bytes"
        )
        try:
            rows = conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.OperationalError:
            yield "  (this SQLite has no dbstat: no per-table figures)"
            return
        for name, size in rows:
            if size / events >= 1:
                yield f"  {name:<36} {size / 2**20:>8,.1f} MiB  {size / events:>6,.0f} B/event"


def _mean_raw(conn: sqlite3.Connection) -> float:
    return float(conn.execute("SELECT AVG(LENGTH(raw)) FROM events").fetchone()[0] or 0)


def event_ids(data_dir: Path) -> tuple[str, str]:
    """The id of a chat event in the middle of the history, and an ISO time near its end."""
    with contextlib.closing(_db(data_dir)) as conn:
        total = int(conn.execute("SELECT MAX(local_id) FROM events").fetchone()[0])
        row = conn.execute(
            "SELECT id FROM events WHERE local_id >= ? AND kind = 'chat' LIMIT 1", (total // 2,)
        ).fetchone()
        last_ts = int(conn.execute("SELECT MAX(ts) FROM messages").fetchone()[0])
    import datetime as dt

    recent = dt.datetime.fromtimestamp(((last_ts >> 16) - 2000) / 1000, dt.UTC)
    return row[0].hex(), recent.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def measure(data_dir: Path, command: str) -> str:
    """Run one command; its wall time, peak RSS and output size."""
    args = shlex.split(command)
    started = time.perf_counter()
    process = subprocess.Popen(
        peerclass_command(data_dir, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    printed = lines = 0
    for line in process.stdout:
        printed += len(line)
        lines += 1
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    error = process.stderr.read().decode().strip() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return f"{command:<44} failed ({process.returncode}): {error[:200]}"
    return (
        f"{command:<44} {elapsed:>6.2f} s  {usage.ru_maxrss / 1024:>6.0f} MiB peak  "
        f"{lines:>9,} lines ({printed / 2**20:,.1f} MiB printed)"
    )


def in_process(data_dir: Path) -> str:
    """The newest page without the interpreter's start-up: open the store, read 50, format."""
    try:
        from storage import Store
        from storage.queries import iter_chat_log
    except ImportError:
        return "(no paged chat log in this version: nothing to time in-process)"
    times = []
    for _ in range(5):
        started = time.perf_counter()
        store = Store.open(data_dir)
        try:
            shown = [
                f"{m.ts} {m.author.hex()[:8]}: {m.text}" for m in iter_chat_log(store, limit=50)
            ]
        finally:
            store.close()
        times.append(time.perf_counter() - started)
    assert len(shown) == 50
    return (
        f"in-process (Store.open + newest 50 + format), best of 5: {min(times) * 1000:.1f} ms, "
        f"median {sorted(times)[2] * 1000:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="keep (and reuse) the store in this dir")
    parser.add_argument(
        "--command",
        action="append",
        help="a peerclass command to time (repeatable; {middle} and {recent} are filled in)",
    )
    args = parser.parse_args()
    if not AUTHORS <= args.events <= 5_000_000:
        parser.error(f"--events must be {AUTHORS} to 5,000,000")
    print("load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
    with contextlib.ExitStack() as stack:
        if args.store is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pc-hist-")))
        else:
            data_dir = args.store
        if not (data_dir / "identity.key").exists():
            subprocess.run(
                peerclass_command(
                    data_dir,
                    "init",
                    "--name",
                    "Reader",
                    "--role",
                    "instructor",
                    "--class",
                    "History",
                ),
                check=True,
                capture_output=True,
            )
        held = count_chat(data_dir)
        wanted = args.events // AUTHORS * AUTHORS
        if held < wanted:
            if held:
                parser.error(f"{data_dir} holds {held:,} chat events, not {wanted:,}: use another")
            print(f"building a store of {wanted:,} chat events in {data_dir}", flush=True)
            build(data_dir, wanted)
        for line in size_report(data_dir):
            print(line, flush=True)
        middle, recent = event_ids(data_dir)
        commands = [
            c.format(middle=middle[:16], recent=recent) for c in args.command or DEFAULT_COMMANDS
        ]
        # Started from a fresh small interpreter: a child's peak RSS counts its parent's
        # memory at the moment it was spawned (Linux keeps the larger), and this one grew
        # while building the store.
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            print(pool.apply(measure, (data_dir, "--help")) + "  (start-up: every command's floor)")
            for command in commands:
                print(pool.apply(measure, (data_dir, command)), flush=True)
            print(pool.apply(in_process, (data_dir,)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
