"""``peerclass report`` end to end: a class made with the curriculum commands, peer stopped.

Every format from the same store is byte-identical run after run (html but for its footer),
and so is a store that received the same events in another order, as another peer would.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from sqlalchemy import select

from peer.identity import CLASS_FILE, IDENTITY_FILE
from storage import Store
from storage.schema import events
from tests.cli.test_roster_cli import run_duties
from tests.helpers import make_class, pc, pc_ok
from tests.report.test_report_csv import ISSUE_COLUMNS
from tests.report.test_report_json import check

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
SUBTRACT = "a, b = map(int, input().split())\nprint(a - b)\n"
REVISED = "**Check** the sign. <script>alert(1)</script>"


def logs(data_dir: Path) -> dict[bytes, list[bytes]]:
    """Every author's log this store holds, in seq order."""
    store = Store.open(data_dir)
    try:
        with store.read() as conn:
            rows = conn.execute(
                select(events.c.author, events.c.raw).order_by(events.c.author, events.c.seq)
            )
            held: dict[bytes, list[bytes]] = {}
            for author, raw in rows:
                held.setdefault(author, []).append(raw)
    finally:
        store.close()
    return held


def deliver(target: Path, batches: Iterator[list[bytes]]) -> None:
    store = Store.open(target)
    try:
        for batch in batches:
            result = store.ingest(batch)
            assert result.rejected == () and not result.gaps
    finally:
        store.close()


def share(*dirs: Path) -> None:
    """Everyone ends up holding every event (what the gossip does), author by author."""
    everything: dict[bytes, list[bytes]] = {}
    for d in dirs:
        for author, raws in logs(d).items():
            if len(raws) > len(everything.get(author, [])):
                everything[author] = raws
    for d in dirs:
        deliver(d, (everything[a] for a in sorted(everything)))


def one_at_a_time_interleaved(held: dict[bytes, list[bytes]]) -> Iterator[list[bytes]]:
    """Each log's events singly, authors in reverse order, round robin: feedback and
    submissions arrive before what they refer to."""
    queues = [list(held[a]) for a in sorted(held, reverse=True)]
    while any(queues):
        for queue in queues:
            if queue:
                yield [queue.pop(0)]


@attrs.frozen
class Classroom:
    teacher: Path
    alice: Path
    bob: Path
    carol: Path
    mirror: Path  # the teacher's identity, the same events received in another order
    problem: str
    other_problem: str


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def first_line(text: str) -> str:
    return text.splitlines()[0].strip()


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Classroom:
    root = tmp_path_factory.mktemp("report")
    dirs = make_class(root, students=3, names=["Teacher", "Alice", "Bob", "Carol"])
    teacher, (alice, bob, carol) = dirs.instructor, dirs.students
    files = root / "files"
    files.mkdir()
    for name, text in {
        "statement.md": "Add *two* numbers.\n",
        "in1": "1 2\n",
        "out1": "3\n",
        "in2": "5 -2\n",
        "out2": "3\n",
        "add.py": ADD,
        "sub.py": SUBTRACT,
    }.items():
        (files / name).write_text(text)
    problem = first_line(
        pc_ok(
            teacher, "problem", "publish", "--title", "Add two numbers",
            "--statement-file", str(files / "statement.md"), "--review", "peers",
            "--example", str(files / "in1"), str(files / "out1"),
            "--example", str(files / "in2"), str(files / "out2"),
        ).out
    )  # fmt: skip
    other = first_line(
        pc_ok(
            teacher, "problem", "publish", "--title", "Echo",
            "--statement-file", str(files / "statement.md"),
        ).out
    )  # fmt: skip
    share(*dirs.all)
    alice_1 = last_line(pc_ok(alice, "submit", problem, str(files / "sub.py")).out)
    alice_2 = last_line(pc_ok(alice, "submit", problem, str(files / "add.py")).out)
    bob_1 = last_line(pc_ok(bob, "submit", problem, str(files / "add.py")).out)
    pc_ok(carol, "submit", problem, str(files / "sub.py"))  # nobody reviews this one
    share(*dirs.all)
    # Only readers review (issue 18): the instructor's peer shares each submission's key with
    # the classmates who submitted to this peer-review problem, as a running peer would.
    run_duties(teacher)
    share(*dirs.all)
    give = ("feedback", "give")
    bob_fb = first_line(
        pc_ok(bob, *give, alice_1, "--verdict", "revise", "--score", "40", "--comment", "Off").out
    )
    pc_ok(bob, *give, alice_1, "--verdict", "revise", "--score", "45", "--comment", REVISED,
          "--supersedes", bob_fb)  # fmt: skip
    pc_ok(teacher, *give, alice_2, "--verdict", "accept", "--score", "90", "--comment", "Done")
    pc_ok(alice, *give, bob_1, "--verdict", "accept", "--score", "80", "--comment", "Nice")
    pc_ok(carol, *give, bob_1, "--verdict", "accept", "--comment", "- short\n- clear")
    share(*dirs.all)
    mirror = root / "mirror"
    mirror.mkdir(mode=0o700)
    for name in (IDENTITY_FILE, CLASS_FILE):
        shutil.copy2(teacher / name, mirror / name)
    deliver(mirror, one_at_a_time_interleaved(logs(teacher)))
    return Classroom(teacher, alice, bob, carol, mirror, problem, other)


def report(data_dir: Path, *args: str) -> str:
    return pc_ok(data_dir, "report", *args).out


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_same_bytes_on_every_run_and_from_every_arrival_order(
    classroom: Classroom, fmt: str
) -> None:
    first = report(classroom.teacher, "--class", "--format", fmt)
    assert report(classroom.teacher, "--class", "--format", fmt) == first
    assert report(classroom.mirror, "--class", "--format", fmt) == first
    student = report(classroom.teacher, "--student", "alice", "--format", fmt)
    assert report(classroom.mirror, "--student", "Alice", "--format", fmt) == student


def test_html_differs_only_in_its_footer(classroom: Classroom) -> None:
    one = report(classroom.teacher, "--class", "--format", "html")
    other = report(classroom.mirror, "--class", "--format", "html")
    assert one.split("<footer>")[0] == other.split("<footer>")[0]
    assert "<script" not in one.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in one
    # the attempted problem's peer scores, then its instructor scores, the feedback timeline
    assert one.count("<svg") == 3


def test_csv_rows(classroom: Classroom) -> None:
    text = report(classroom.teacher, "--class", "--format", "csv").removeprefix("\ufeff")
    assert text.split("\r\n", 1)[0] == ISSUE_COLUMNS.replace(", ", ",")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    cells = [
        (r["student_name"], r["attempt"], r["checks_passed"], r["reviewer_name"], r["score"])
        for r in rows
    ]
    assert cells == [
        ("Alice", "1", "0", "Bob", "40"),
        ("Alice", "1", "0", "Bob", "45"),
        ("Alice", "2", "2", "Teacher", "90"),
        ("Bob", "1", "2", "Alice", "80"),
        ("Bob", "1", "2", "Carol", ""),
        ("Carol", "1", "0", "", ""),
    ]
    assert rows[1]["revision_of"] == rows[0]["feedback_id"] and rows[0]["revision_of"] == ""
    assert rows[1]["comment"] == REVISED
    assert {r["problem_title"] for r in rows} == {"Add two numbers"}
    assert rows[2]["reviewer_role"] == "instructor" and rows[3]["reviewer_role"] == "peer"


def test_json_report_matches_the_schema_and_the_curriculum(classroom: Classroom) -> None:
    document = json.loads(report(classroom.teacher, "--class", "--format", "json"))
    check(document)
    assert document["generated_for"]["name"] == "Teacher"
    status = {
        s["name"]: {p["problem_title"]: p["status"] for p in s["problems"]}
        for s in document["students"]
    }
    assert status == {
        "Alice": {"Add two numbers": "accepted"},  # the instructor accepted attempt 2
        "Bob": {"Add two numbers": "accepted"},  # both peer reviewers accept
        "Carol": {"Add two numbers": "pending"},
    }
    problems = {p["title"]: (p["attempted"], p["accepted"]) for p in document["problems"]}
    assert problems == {"Add two numbers": (3, 2), "Echo": (0, 0)}
    listed = pc_ok(classroom.teacher, "problem", "list", "--json").json()
    assert {p["id"] for p in document["problems"]} == {p["id"] for p in listed}


def test_default_scope_is_your_own_student(classroom: Classroom) -> None:
    document = json.loads(report(classroom.alice, "--format", "json"))
    assert document["generated_for"]["scope"] == "student"
    assert [s["name"] for s in document["students"]] == ["Alice"]
    given = document["students"][0]["feedback_given"]
    assert [(g["student_name"], g["feedback"]["verdict"]) for g in given] == [("Bob", "accept")]


def test_problem_and_since_filters(classroom: Classroom) -> None:
    only = json.loads(
        report(classroom.teacher, "--class", "--problem", classroom.other_problem[:12],
               "--format", "json")
    )  # fmt: skip
    assert [p["title"] for p in only["problems"]] == ["Echo"]
    assert all(s["problems"] == [] for s in only["students"])
    later = json.loads(
        report(classroom.teacher, "--class", "--since", "2999-01-01", "--format", "json")
    )
    assert later["generated_for"]["since"] == "2999-01-01T00:00:00.000Z"
    assert all(s["problems"] == [] for s in later["students"])


def test_output_file_holds_what_stdout_would(classroom: Classroom, tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    assert report(classroom.teacher, "--class", "--format", "csv", "-o", str(target)) == ""
    expected = report(classroom.teacher, "--class", "--format", "csv")
    assert target.read_bytes() == expected.encode()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--class", "--student", "Alice", "--format", "md"], 2, "not allowed with argument"),
        (["--format", "pdf"], 2, "invalid choice"),
        (["--class"], 2, "--format"),
        (["--student", "Nobody", "--format", "md"], 1, "no peer is named 'Nobody'"),
        (["--problem", "zz", "--format", "md"], 1, "is not an id"),
        (["--problem", "00000000", "--format", "md"], 1, "no problem has an id"),
        (["--since", "last week", "--format", "md"], 1, "--since 'last week' is not"),
        (["--format", "md", "-o", "/nonexistent/dir/r.md"], 1, "cannot write"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    classroom: Classroom, args: list[str], code: int, message: str
) -> None:
    result = pc(classroom.teacher, "report", *args)
    assert (result.code, result.out) == (code, "")
    assert result.err.count("\n") == 1 and message in result.err
