"""The curriculum command line, peer stopped: the documented output, and bad input refused
with one line on stderr, a non-zero exit, and nothing stored."""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

import attrs
import pytest

from storage import Store
from storage._store import DB_FILE
from tests.helpers import CliResult, let_read, make_class, pc, pc_ok

PROBLEM_KEYS = {
    "id",
    "title",
    "author",
    "author_name",
    "official",
    "tags",
    "due",
    "ts",
    "revision_of",
    "examples",
    "languages",
    "late_policy",
    "hidden_detail",
    "graded_attempts",
}
SUBMISSION_KEYS = {
    "id",
    "problem_id",
    "author",
    "author_name",
    "attempt",
    "ts",
    "language",
    "checks_passed",
    "checks_total",
    "late",
    "attested",  # when a witness first held it (issue 18)
    "readable",
}
FEEDBACK_KEYS = {
    "id",
    "submission_id",
    "problem_id",
    "reviewer",
    "reviewer_name",
    "role",
    "verdict",
    "score",
    "comment",
    "ts",
    "revision_of",
    "readable",
}
ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def share(source: Path, *targets: Path) -> None:
    """Hand every event ``source`` holds to ``targets`` (what the gossip would do)."""
    store = Store.open(source)
    raws = [e.raw for e in store.events_after(0, 100_000)]
    store.close()
    for target in targets:
        store = Store.open(target)
        assert store.ingest(raws).rejected == ()
        store.close()


def event_count(data_dir: Path) -> int:
    store = Store.open(data_dir)
    try:
        return store.event_count()
    finally:
        store.close()


def write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


@attrs.frozen
class Classroom:
    teacher: Path
    alice: Path
    bob: Path
    files: Path
    problem: str
    alices: str  # alice's submission
    bobs_review: str  # bob's feedback on it


@pytest.fixture
def room(tmp_path: Path) -> Classroom:
    """A teacher's problem with two examples, Alice's submission, Bob's review; all shared."""
    dirs = make_class(tmp_path, 2, ["Teacher", "Alice", "Bob"])
    teacher, (alice, bob) = dirs.instructor, dirs.students
    files = tmp_path / "files"
    files.mkdir()
    problem = pc_ok(
        teacher,
        "problem", "publish", "--title", "Sum",
        "--statement-file", write(files / "sum.md", "Add *two* numbers.\r\n"),
        "--example", write(files / "in1", "2 3\n"), write(files / "out1", "5\n"),
        "--example", write(files / "in2", "10 -4\n"), write(files / "out2", "6\n"),
        "--tag", "intro", "--tag", "io", "--tag", "intro",
        "--due", "2030-01-02T03:04:05+01:00",
    ).out.strip()  # fmt: skip
    share(teacher, alice, bob)
    alices = pc_ok(alice, "submit", problem[:8], write(files / "add.py", ADD)).out.split()[-1]
    share(alice, bob, teacher)
    let_read(teacher, alices, bob)  # only readers review (issue 18)
    share(teacher, bob)
    review = pc_ok(
        bob, "feedback", "give", alices[:10], "--verdict", "revise", "--comment", "Name things."
    ).out.strip()
    share(bob, alice, teacher)
    return Classroom(teacher, alice, bob, files, problem, alices, review)


def test_problem_list_and_show(room: Classroom) -> None:
    [listed] = pc_ok(room.bob, "problem", "list", "--json").json()
    assert set(listed) == PROBLEM_KEYS
    assert listed["id"] == room.problem
    assert listed["official"] is True
    assert listed["author_name"] == "Teacher"
    assert listed["tags"] == ["intro", "io"]
    assert listed["due"] == "2030-01-02T02:04:05.000Z"
    assert listed["ts"].endswith("Z")
    assert (listed["examples"], listed["revision_of"]) == (2, None)
    shown = pc_ok(room.bob, "problem", "show", room.problem[:8], "--json").json()
    assert shown["statement"] == "Add *two* numbers.\n"
    assert shown["examples"] == [
        {"input": "2 3\n", "output": "5\n"},
        {"input": "10 -4\n", "output": "6\n"},
    ]
    human = pc_ok(room.bob, "problem", "show", room.problem[:8]).out
    assert "Add *two* numbers." in human and "10 -4" in human


def test_a_revision_replaces_the_problem_in_the_list(room: Classroom) -> None:
    revised = pc_ok(
        room.teacher, "problem", "publish", "--title", "Sum (v2)",
        "--statement-file", str(room.files / "sum.md"), "--supersedes", room.problem[:12],
    ).out.strip()  # fmt: skip
    [listed] = pc_ok(room.teacher, "problem", "list", "--json").json()
    assert (listed["id"], listed["revision_of"], listed["title"]) == (
        revised,
        room.problem,
        "Sum (v2)",
    )
    old = pc_ok(room.teacher, "problem", "show", room.problem[:8]).out
    assert f"superseded by a newer revision, {revised[:8]}" in old


def test_submit_runs_the_self_check_and_counts_attempts(room: Classroom) -> None:
    wrong = write(room.files / "sub.py", ADD.replace("+", "-"))
    result = pc_ok(room.alice, "submit", room.problem[:8], wrong)
    summary, *details, recorded, submission_id = result.out.splitlines()
    assert len(submission_id) == 64
    assert summary == "self-check of 'Sum' (python): passed 0/2"
    assert recorded == "recorded attempt 2"
    assert "-5" in result.out and "+-1" in result.out
    checked = pc(room.alice, "check", room.problem[:8], wrong)
    assert checked.code == 1  # an example failed
    assert checked.out.splitlines()[:-1] == [summary, *details]  # the same self-check
    other = pc(room.alice, "submit", room.problem[:8], wrong, "--language", "haskell")
    one_line_error(other)
    assert "'Sum' accepts python, not 'haskell'" in other.err
    third = pc_ok(room.alice, "submit", room.problem[:8], write(room.files / "add.py", ADD))
    assert "attempt 3" in third.out and "passed 2/2" in third.out

    listed = pc_ok(room.alice, "submissions", "--author", "alice", "--json").json()
    assert all(set(s) == SUBMISSION_KEYS for s in listed)
    assert [(s["attempt"], s["checks_passed"], s["checks_total"]) for s in listed] == [
        (1, 2, 2),
        (2, 0, 2),
        (3, 2, 2),
    ]
    assert {s["problem_id"] for s in listed} == {room.problem}
    assert pc_ok(room.alice, "submissions", "--problem", room.problem[:8], "--json").json() == (
        listed
    )
    assert pc_ok(room.alice, "submissions", "--author", "Bob", "--json").json() == []


def test_feedback_list_and_revision(room: Classroom) -> None:
    revised = pc_ok(
        room.bob, "feedback", "give", room.alices[:8], "--verdict", "accept", "--score", "85",
        "--comment", "Better now.", "--supersedes", room.bobs_review[:8],
    ).out.strip()  # fmt: skip
    instructor = pc_ok(
        room.teacher, "feedback", "give", room.alices[:8], "--verdict", "accept", "--score", "0",
        "--comment", "Fine.",
    ).out.strip()  # fmt: skip
    share(room.bob, room.alice)
    share(room.teacher, room.alice)
    listed = pc_ok(room.alice, "feedback", "list", "--submission", room.alices, "--json").json()
    assert all(set(f) == FEEDBACK_KEYS for f in listed)
    assert [(f["id"], f["role"], f["verdict"], f["score"], f["revision_of"]) for f in listed] == [
        (revised, "peer", "accept", 85, room.bobs_review),
        (instructor, "instructor", "accept", 0, None),
    ]
    assert {f["problem_id"] for f in listed} == {room.problem}
    assert "Better now." in pc_ok(room.alice, "feedback", "list").out

    [mine] = pc_ok(room.alice, "progress", "--json").json()
    assert (mine["attempts"], mine["accepted"], len(mine["verdicts"])) == (1, True, 2)
    table = pc_ok(room.teacher, "progress", "--json").json()
    assert [s["name"] for s in table["students"]] == ["Alice", "Bob"]
    assert [[p["accepted"] for p in s["problems"]] for s in table["students"]] == [[True], [False]]
    assert "accepted" in pc_ok(room.teacher, "progress").out


def one_line_error(result: CliResult) -> None:
    assert result.code != 0
    assert result.out == ""
    assert result.err.startswith("peerclass: error: ")
    assert result.err.count("\n") == 1, result.err


PUBLISH = "problem publish --title T --statement-file {files}/sum.md"
GIVE = "feedback give {alices} --verdict accept"
BAD_INPUT = {
    "unknown problem": ("bob", "problem show 0123456789", "no problem has an id"),
    "short id": ("bob", "problem show 0123", "give 8 to 64 hex digits"),
    "submission id as problem": ("alice", "submit {alices} {files}/add.py", "no problem"),
    "missing statement": (
        "teacher",
        "problem publish --title T --statement-file {files}/nope.md",
        "cannot read --statement-file",
    ),
    "missing example": (
        "teacher",
        PUBLISH + " --example {files}/in1 {files}/none",
        "cannot read example output",
    ),
    "bad due": ("teacher", PUBLISH + " --due soon", "not an ISO 8601"),
    "bad tag": ("teacher", PUBLISH + " --tag 'a b'", "tag 'a b' is not valid"),
    "supersedes someone else's problem": ("bob", PUBLISH + " --supersedes {problem}", "not yours"),
    "missing solution": ("bob", "submit {problem} {files}/none.py", "cannot read solution"),
    "over-large solution": ("bob", "submit {problem} {files}/big.py", "the limit is 65536"),
    "binary solution": ("bob", "submit {problem} {files}/binary.py", "not UTF-8"),
    "bad verdict": (
        "bob",
        "feedback give {alices} --verdict maybe --comment x",
        "invalid choice",
    ),
    "score above range": ("bob", GIVE + " --score 101 --comment x", "outside 0-100"),
    "score below range": ("bob", GIVE + " --score=-1 --comment x", "outside 0-100"),
    "score not a number": ("bob", GIVE + " --score 9.5 --comment x", "not a whole number"),
    "feedback on own submission": ("alice", GIVE + " --comment me", "your own submission"),
    "unknown submission": (
        "bob",
        "feedback give abcdef0123 --verdict accept --comment x",
        "no submission has an id",
    ),
    "supersedes someone else's feedback": (
        "teacher",
        GIVE + " --comment x --supersedes {review}",
        "not yours",
    ),
    "empty comment": ("bob", GIVE + " --comment ' '", "comment is empty"),
    "unknown author": ("bob", "submissions --author Zed", "no peer is named 'Zed'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_nonzero_and_stores_nothing(room: Classroom, case: str) -> None:
    who, argv, message = BAD_INPUT[case]
    write(room.files / "big.py", "#" * (64 * 1024) + "\n")
    write(room.files / "binary.py", b"\xff\xfe\x00")
    data_dir = getattr(room, who)
    fields = {
        "files": room.files,
        "problem": room.problem[:8],
        "alices": room.alices[:8],
        "review": room.bobs_review[:8],
    }
    before = event_count(data_dir)
    result = pc(data_dir, *shlex.split(argv.format(**fields)))
    one_line_error(result)
    assert message in result.err
    assert event_count(data_dir) == before


def test_an_ambiguous_prefix_or_name_is_refused(room: Classroom, tmp_path: Path) -> None:
    # Two ids sharing 8 hex digits are too rare to make honestly: plant a look-alike row.
    twin = bytes.fromhex(room.problem[:8] + "0" * 56)
    with sqlite3.connect(room.bob / DB_FILE) as db:
        db.execute(
            "INSERT INTO events (author, seq, id, kind, raw, received_at) "
            "VALUES (?, 1, ?, 'problem', x'00', 1)",
            (bytes(32), twin),
        )
    before = event_count(room.bob)
    result = pc(room.bob, "submit", room.problem[:8], str(room.files / "add.py"))
    one_line_error(result)
    assert "ambiguous" in result.err
    assert event_count(room.bob) == before

    dirs = make_class(tmp_path / "twins", 2, ["T", "Sam", "Sam"])
    share(dirs.students[1], dirs.students[0])
    result = pc(dirs.students[0], "submissions", "--author", "sam")
    one_line_error(result)
    assert "matches 2 peers" in result.err
