"""How long ``peerclass grade`` takes, and how soon ``grade --watch`` grades new work.

A class of one instructor and N students is made in a temp dir; every student submits (half
Python, half C); then ``peerclass grade`` runs as its own process over a folder of hidden
tests, several times. Then ``grade --watch`` runs and one more submission is handed to the
instructor's store (as the running peer would store it): the figure is the time from that
store write to the watch's line about it. Prints figures; asserts none. Loopback only (no
network at all, in fact).

    python bench/grade.py [--students 10] [--tests 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from peer.testing import peerclass_command
from storage import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import make_class, pc_ok

ADD_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
ADD_C = (
    '#include <stdio.h>\nint main(void) { long a, b; scanf("%ld %ld", &a, &b);\n'
    'printf("%ld\\n", a + b); return 0; }\n'
)


def share(source: Path, target: Path) -> None:
    store = Store.open(source)
    raws = [e.raw for e in store.events_after(0, 1_000_000)]
    store.close()
    store = Store.open(target)
    store.ingest(raws)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--tests", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peerclass-bench-grade-") as tmp:
        root = Path(tmp)
        dirs = make_class(root, args.students + 1)
        teacher, students = dirs.instructor, dirs.students
        statement = root / "s.md"
        statement.write_text("Add two numbers.")
        problem = pc_ok(
            teacher, "problem", "publish", "--title", "Sum", "--languages", "python,c",
            "--statement-file", str(statement),
        ).out.strip()  # fmt: skip
        hidden = root / "hidden"
        hidden.mkdir()
        for n in range(args.tests):
            (hidden / f"{n:02}.in").write_text(f"{n} {n * 7}\n")
            (hidden / f"{n:02}.out").write_text(f"{n * 8}\n")
        for index, student in enumerate(students[:-1]):
            share(teacher, student)
            name, source = ("a.py", ADD_PY) if index % 2 == 0 else ("a.c", ADD_C)
            (root / name).write_text(source)
            pc_ok(student, "submit", problem[:8], str(root / name))
            share(student, teacher)
        grade = peerclass_command(teacher, "grade", problem[:8], "--tests", str(hidden))
        times = []
        for run in range(args.runs):
            # The first run publishes; later runs re-run everything and publish nothing new.
            started = time.monotonic()
            subprocess.run(grade, check=True, capture_output=True)
            times.append(time.monotonic() - started)
            print(f"run {run + 1}: {args.students} submissions x {args.tests} tests: "
                  f"{times[-1]:.2f} s")  # fmt: skip
        python = args.students // 2 + args.students % 2
        print(f"median {statistics.median(times):.2f} s for {args.students} submissions "
              f"({python} Python, {args.students // 2} C)")  # fmt: skip

        late_comer = students[-1]
        share(teacher, late_comer)
        (root / "late.py").write_text(ADD_PY)
        pc_ok(late_comer, "submit", problem[:8], str(root / "late.py"))
        watch = subprocess.Popen([*grade, "--watch"], stdout=subprocess.PIPE, text=True)
        seen = threading.Event()
        arrived_at: list[float] = []

        def read() -> None:
            assert watch.stdout is not None
            for line in watch.stdout:
                if line.startswith("watching"):
                    seen.set()
                elif "Student" in line and seen.is_set() and not arrived_at:
                    arrived_at.append(time.monotonic())

        threading.Thread(target=read, daemon=True).start()
        seen.wait(120)
        stored = time.monotonic()
        share(late_comer, teacher)
        deadline = time.monotonic() + 120
        while not arrived_at and time.monotonic() < deadline:
            time.sleep(0.01)
        watch.terminate()
        watch.wait(30)
        if arrived_at:
            took = arrived_at[0] - stored
            print(f"--watch graded a new submission {took:.2f} s after it was stored")
        else:
            print("--watch did not grade the new submission within 120 s")


if __name__ == "__main__":
    main()
