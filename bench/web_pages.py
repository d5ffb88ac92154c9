"""How long the web UI takes to render its busiest pages as a class's history grows.

Builds one instructor store with N chat messages, P problems and one submission per student
and problem, then times GET /chat, /problems, /feedback and /instructor through
the ASGI app (no network; the same app hypercorn serves). Run:
    .venv/bin/python bench/web_pages.py [--messages N] [--students S] [--problems P]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peer.identity import load_membership
from peer.web import Access, WebContext, build_app
from storage import AsyncStore, Store
from storage.queries import list_problems
from tests.helpers import make_class, pc_ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--problems", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        klass = make_class(Path(tmp), students=args.students)
        teacher = klass.instructor
        store = Store.open(teacher)
        me = load_membership(teacher)
        statement = Path(tmp) / "s.md"
        statement.write_text("Add two numbers.")
        for i in range(args.problems):
            pc_ok(
                teacher,
                "problem",
                "publish",
                "--title",
                f"P{i}",
                "--statement-file",
                str(statement),
            )
        solution = Path(tmp) / "add.py"
        solution.write_text("print(sum(map(int, input().split())))\n")
        problem_ids = [p.id.hex() for p in list_problems(store, me.klass.instructor)]
        for student in klass.students:
            _copy(store, student)
            for pid in problem_ids:
                pc_ok(student, "submit", pid[:12], str(solution))
            _copy_into(student, store)
        for i in range(args.messages):
            store.append(me.signing_key, "chat", {"room": f"r{i % 7}", "text": f"message {i} 안녕"})
        ctx = WebContext(AsyncStore(store), me, Access.in_memory())
        with TestClient(build_app(ctx), base_url="http://127.0.0.1:1", backend="trio") as client:
            client.cookies.set("peerclass_1", "bench")
            print(f"{args.messages:,} messages, {args.students} students, {args.problems} problems")
            for path in ["/chat?room=r0", "/problems", "/feedback", "/instructor"]:
                times = []
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    response = client.get(path)
                    times.append(time.perf_counter() - start)
                    assert response.status_code == 200, (path, response.status_code)
                print(
                    f"  GET {path:<16} median {statistics.median(times) * 1000:7.1f} ms "
                    f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, "
                    f"{len(response.content):,} bytes)"
                )
        store.close()


def _copy(source: Store, target_dir: Path) -> None:
    target = Store.open(target_dir)
    try:
        for author in source.heads():
            target.ingest(source.events_range(author, 0, 100_000))
    finally:
        target.close()


def _copy_into(source_dir: Path, target: Store) -> None:
    source = Store.open(source_dir)
    try:
        for author in source.heads():
            target.ingest(source.events_range(author, 0, 100_000))
    finally:
        source.close()


if __name__ == "__main__":
    main()
