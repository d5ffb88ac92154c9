"""``peerclass grade``, ``check`` and ``queue`` end to end: real ``peerclass`` processes grade
Python and C submissions in the engine's sandbox, publish instructor feedback that names failed
tests and nothing of their data, keep grading with ``--watch`` beside a running peer, and refuse
to run anything without a sandbox. (The sandbox's own escape tests live in tests/grading.)"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import attrs
import pytest

from peer.cli._console import MAX_SUBMISSION_LINES, announcements
from peer.cli._core import open_peer
from peer.identity import load_membership
from peer.testing import (
    PeerProcess,
    cli,
    free_udp_port,
    peerclass_command,
    wait_converged,
    wait_until,
)
from tests.cli.test_curriculum_cli import event_count, one_line_error, share, write
from tests.grading.helpers import needs_sandbox
from tests.helpers import let_read, make_class, pc, pc_ok

ADD_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
ADD_C = '#include <stdio.h>\nint main(void) { long a, b; scanf("%ld %ld", &a, &b);\n' + (
    'printf("%ld\\n", a + b); return 0; }\n'
)
#: Right on small numbers only, and it prints its (hidden) input to stdout and stderr too,
#: as a student fishing for the tests would.
WRONG_PY = (
    "import sys\ndata = sys.stdin.read()\nprint(data, file=sys.stderr)\n"
    "a, b = map(int, data.split())\nprint(a + b if a < 100 else data)\n"
)
BROKEN_C = "int main( {\n"
#: Hidden test data that must never reach a student.
SECRETS = ("40000", "2345", "42345")


@attrs.frozen
class Course:
    teacher: Path
    students: list[Path]
    problem: str
    tests: Path
    files: Path


@pytest.fixture
def course(tmp_path: Path) -> Course:
    """A Python-or-C problem with one public example, and a folder of two hidden tests."""
    dirs = make_class(tmp_path, 3, ["Teacher", "Alice", "Bob", "Carol"])
    files = tmp_path / "files"
    files.mkdir()
    problem = pc_ok(
        dirs.instructor,
        "problem", "publish", "--title", "Sum", "--languages", "python,c",
        "--statement-file", write(files / "sum.md", "Add two numbers."),
        "--example", write(files / "in", "2 3\n"), write(files / "out", "5\n"),
    ).out.strip()  # fmt: skip
    share(dirs.instructor, *dirs.students)
    tests = tmp_path / "hidden"
    tests.mkdir()
    write(tests / "01-small.in", "2 3\n")
    write(tests / "01-small.out", "5\n")
    write(tests / "02-large.in", "40000 2345\n")
    write(tests / "02-large.out", "42345\n")
    write(tests / "weights.toml", '"02-large" = 3\n')
    return Course(dirs.instructor, dirs.students, problem, tests, files)


def submit(course: Course, student: Path, name: str, source: str) -> str:
    """``student`` submits; the instructor receives it. Returns the submission id."""
    submitted = pc_ok(student, "submit", course.problem[:8], write(course.files / name, source))
    share(student, course.teacher)
    return submitted.out.split()[-1]


def instructor_feedback(data_dir: Path) -> dict[str, dict[str, object]]:
    """Submission id -> the instructor's current feedback on it, as ``feedback list`` says."""
    listed = pc_ok(data_dir, "feedback", "list", "--json").json()
    return {f["submission_id"]: f for f in listed if f["role"] == "instructor"}


@needs_sandbox
def test_grade_publishes_verdicts_scores_and_failed_test_names_only(course: Course) -> None:
    alice, bob, carol = course.students
    python_ok = submit(course, alice, "add.py", ADD_PY)
    c_ok = submit(course, bob, "add.c", ADD_C)
    wrong = submit(course, carol, "wrong.py", WRONG_PY)

    graded = cli(course.teacher, "grade", course.problem[:8], "--tests", str(course.tests))
    assert "graded 3 submission(s) to 'Sum'" in graded.stdout
    assert "Carol" in graded.stdout and "failed 02-large" in graded.stdout

    verdicts = instructor_feedback(course.teacher)
    assert (verdicts[python_ok]["verdict"], verdicts[python_ok]["score"]) == ("accept", 100)
    assert (verdicts[c_ok]["verdict"], verdicts[c_ok]["score"]) == ("accept", 100)
    assert (verdicts[wrong]["verdict"], verdicts[wrong]["score"]) == ("revise", 25)  # weights
    comment = str(verdicts[wrong]["comment"])
    # By default a student learns which hidden test failed, not why (issue 18).
    assert "02-large: failed" in comment and "01-small" not in comment
    assert "wrong answer" not in comment and "wrong answer" in graded.stdout
    assert not [secret for secret in SECRETS if secret in comment]

    # The student reads the same verdict once it reaches them; nothing waits in the queue.
    share(course.teacher, carol)
    assert instructor_feedback(carol)[wrong]["comment"] == comment
    assert pc_ok(course.teacher, "queue", "--json").json() == []

    # Grading again changes nothing; a new attempt that does not compile gets the compiler's
    # words as its comment.
    again = cli(course.teacher, "grade", course.problem[:8], "--tests", str(course.tests))
    assert again.stdout.count("unchanged since it was last graded") == 3
    broken = submit(course, carol, "broken.c", BROKEN_C)
    cli(course.teacher, "grade", course.problem[:8], "--tests", str(course.tests))
    verdicts = instructor_feedback(course.teacher)
    assert (verdicts[broken]["verdict"], verdicts[broken]["score"]) == ("revise", 0)
    assert str(verdicts[broken]["comment"]).startswith("compile error:")
    assert "main.c:1" in str(verdicts[broken]["comment"])


@needs_sandbox
def test_grade_all_takes_every_ungraded_attempt_and_latest_only_the_newest(
    course: Course,
) -> None:
    alice = course.students[0]
    first = submit(course, alice, "wrong.py", WRONG_PY)
    second = submit(course, alice, "add.py", ADD_PY)
    cli(course.teacher, "grade", course.problem[:8], "--tests", str(course.tests))
    assert set(instructor_feedback(course.teacher)) == {second}
    cli(course.teacher, "grade", course.problem[:8], "--tests", str(course.tests), "--all")
    assert set(instructor_feedback(course.teacher)) == {first, second}


def test_grade_refuses_to_run_anything_without_a_sandbox(course: Course) -> None:
    submit(course, course.students[0], "add.py", ADD_PY)
    before = event_count(course.teacher)
    env = dict(os.environ, PEERCLASS_SANDBOX="off")
    refused = subprocess.run(
        peerclass_command(
            course.teacher, "grade", course.problem[:8], "--tests", str(course.tests)
        ),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert "cannot grade: the sandbox is turned off" in refused.stderr
    assert "nothing ran" in refused.stderr
    assert event_count(course.teacher) == before


def test_grade_is_for_the_instructor_and_checks_its_test_folder(course: Course) -> None:
    student = course.students[0]
    refused = pc(student, "grade", course.problem[:8], "--tests", str(course.tests))
    one_line_error(refused)
    assert "only the class's instructors and TAs grade" in refused.err
    write(course.tests / "03.ans", "oops\n")
    misnamed = pc(course.teacher, "grade", course.problem[:8], "--tests", str(course.tests))
    one_line_error(misnamed)
    assert "03.ans: unexpected file" in misnamed.err


@attrs.define(eq=False)
class Watcher:
    """A ``grade --watch`` process and the lines it printed so far."""

    process: subprocess.Popen[str]
    lines: list[str] = attrs.field(factory=list)

    @classmethod
    def start(cls, data_dir: Path, *args: str) -> Watcher:
        process = subprocess.Popen(
            peerclass_command(data_dir, "grade", *args, "--watch"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        watcher = cls(process)
        threading.Thread(target=watcher._read, daemon=True).start()
        return watcher

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def printed(self, text: str) -> bool:
        return any(text in line for line in self.lines)


@needs_sandbox
def test_watch_grades_work_that_arrives_while_the_peers_run(course: Course) -> None:
    """Beside the instructor's running peer, ``grade --watch`` grades a submission the
    moment the gossip brings it, and the verdict travels back to the student."""
    teacher, alice = course.teacher, course.students[0]
    port = free_udp_port()
    peers = [PeerProcess(teacher, port).start(), PeerProcess(alice, port).start()]
    watcher = Watcher.start(teacher, course.problem[:8], "--tests", str(course.tests))
    try:
        wait_until(lambda: watcher.printed("watching for new submissions"), 30, "the watch")
        submitted = cli(alice, "submit", course.problem[:8], write(course.files / "a.py", ADD_PY))
        submission = submitted.stdout.split()[-1]
        wait_until(lambda: watcher.printed("Alice"), 30, "the watch to grade Alice's work")
        assert watcher.printed("attempt 1: accept, score 100")
        wait_until(lambda: submission in instructor_feedback(alice), 30, "the verdict at Alice")
        # The instructor's own peer said that work arrived, in one line.
        told = [line for line in peers[0].lines if line.startswith("[submission] Alice")]
        assert len(told) == 1 and "submitted attempt 1 at 'Sum'" in told[0]
        watcher.process.send_signal(signal.SIGTERM)
        assert watcher.process.wait(30) == 0
        wait_until(lambda: watcher.printed("stopped watching"), 10, "the watch to say so")
        wait_converged([teacher, alice])
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()
            watcher.process.wait(10)
        for peer in peers:
            peer.stop()


def test_queue_lists_work_waiting_for_a_verdict_oldest_first(course: Course) -> None:
    alice, bob, _carol = course.students
    first = submit(course, alice, "a1.py", ADD_PY)
    second = submit(course, bob, "b1.py", ADD_PY)
    third = submit(course, alice, "a2.py", ADD_PY)
    pc_ok(course.teacher, "feedback", "give", second[:8], "--verdict", "accept", "--comment", "ok")
    waiting = pc_ok(course.teacher, "queue", "--json").json()
    assert [w["id"] for w in waiting] == [first, third]
    assert [(w["author_name"], w["attempt"], w["latest"]) for w in waiting] == [
        ("Alice", 1, False),
        ("Alice", 2, True),
    ]
    assert {w["late"] for w in waiting} == {False}
    table = pc_ok(course.teacher, "queue").out.splitlines()
    assert table[0].split() == [
        "ID",
        "PROBLEM",
        "AUTHOR",
        "ATTEMPT",
        "LANGUAGE",
        "SUBMITTED",
        "LATE",
    ]
    assert [row[:8] for row in table[1:]] == [first[:8], third[:8]]
    assert "(superseded)" in table[1] and "(superseded)" not in table[2]
    pc_ok(course.teacher, "feedback", "give", first[:8], "--verdict", "revise", "--comment", "x")
    pc_ok(course.teacher, "feedback", "give", third[:8], "--verdict", "accept", "--comment", "y")
    assert pc_ok(course.teacher, "queue").out == "nothing is waiting for an instructor verdict\n"


def test_check_runs_the_self_check_and_records_nothing(course: Course) -> None:
    alice = course.students[0]
    before = event_count(alice)
    passed = pc(alice, "check", course.problem[:8], write(course.files / "ok.py", ADD_PY))
    assert passed.code == 0
    assert passed.out.splitlines()[0] == "self-check of 'Sum' (python): passed 1/1"
    failed = pc(alice, "check", course.problem[:8], write(course.files / "bad.c", BROKEN_C))
    assert failed.code == 1
    assert failed.out.startswith("self-check of 'Sum' (c): passed 0/1\n  compile error:")
    assert event_count(alice) == before
    refused = pc(
        alice, "check", course.problem[:8], str(course.files / "ok.py"), "--language", "go"
    )
    one_line_error(refused)
    assert "'Sum' accepts python, c, not 'go'" in refused.err


def test_a_second_feedback_by_one_reviewer_revises_the_first(course: Course) -> None:
    alice, bob, _carol = course.students
    submission = submit(course, alice, "a.py", ADD_PY)
    share(alice, bob, course.teacher)
    let_read(course.teacher, submission, bob)  # only readers review (issue 18)
    share(course.teacher, bob)
    first = pc_ok(bob, "feedback", "give", submission[:8], "--verdict", "revise", "--comment", "a")
    assert first.err == ""
    second = pc_ok(bob, "feedback", "give", submission[:8], "--verdict", "accept", "--comment", "b")
    assert f"this revises your latest, {first.out.strip()[:8]}" in second.err
    [current] = pc_ok(bob, "feedback", "list", "--json").json()
    assert (current["id"], current["revision_of"]) == (second.out.strip(), first.out.strip())
    assert current["verdict"] == "accept"


def test_run_tells_the_instructor_of_each_submission_and_batches_many(course: Course) -> None:
    """What ``run`` prints for new work (``peer.cli._console``): a line each, one for many."""
    alice, bob, _carol = course.students
    ids = [submit(course, who, f"{n}.py", ADD_PY) for n, who in enumerate([alice, bob] * 3)]
    share(course.teacher, course.students[2])
    membership, store = open_peer(course.teacher)
    try:
        raws = [e.raw for e in store.events_after(0, 10_000) if e.kind == "submission"]
        one = announcements(store, membership, raws[:1])
        alice_id = load_membership(alice).peer_id.hex()[:8]
        assert one == [
            f"[submission] Alice ({alice_id}) submitted attempt 1 at 'Sum': "
            f"peerclass submission show {ids[0][:8]}"
        ]
        assert len(announcements(store, membership, raws[:MAX_SUBMISSION_LINES])) == 5
        [batched] = announcements(store, membership, raws)
        assert batched == (
            "[submission] 6 new submissions (6 at 'Sum'); "
            "'peerclass queue' lists those waiting for your verdict"
        )
        # A student's peer says nothing about work on problems they have not tried.
        student, student_store = open_peer(course.students[2])
        assert announcements(student_store, student, raws[:1]) == []
        student_store.close()
    finally:
        store.close()


@needs_sandbox
def test_late_policies_decide_what_grading_does_with_late_work(course: Course) -> None:
    alice = course.students[0]
    ids = {}
    for policy in ("mark", "refuse-grade"):
        ids[policy] = pc_ok(
            course.teacher,
            "problem", "publish", "--title", f"Late {policy}", "--late-policy", policy,
            "--statement-file", str(course.files / "sum.md"),
            "--due", "2026-01-01T00:00:00Z", "--allow-past",
        ).out.strip()  # fmt: skip
    share(course.teacher, alice)
    graded = {}
    for policy, problem in ids.items():
        submitted = pc_ok(alice, "submit", problem[:8], write(course.files / "add.py", ADD_PY))
        share(alice, course.teacher)
        cli(course.teacher, "grade", problem[:8], "--tests", str(course.tests))
        graded[policy] = instructor_feedback(course.teacher)[submitted.out.split()[-1]]
    marked, refused = graded["mark"], graded["refuse-grade"]
    assert (marked["verdict"], marked["score"]) == ("accept", 100)
    assert str(marked["comment"]).endswith("(submitted after the due date)")
    assert (refused["verdict"], refused["score"]) == ("revise", None)
    assert (
        refused["comment"]
        == "not graded: submitted after the due date, and late work is not graded"
    )


@needs_sandbox
def test_graded_attempts_and_hidden_detail_are_the_problems_to_choose(course: Course) -> None:
    alice = course.students[0]
    problem = pc_ok(
        course.teacher,
        "problem", "publish", "--title", "Once", "--graded-attempts", "1",
        "--hidden-detail", "verdicts", "--statement-file", str(course.files / "sum.md"),
    ).out.strip()  # fmt: skip
    share(course.teacher, alice)
    shown = pc_ok(alice, "problem", "show", problem[:8], "--json").json()
    assert (shown["hidden_detail"], shown["graded_attempts"]) == ("verdicts", 1)
    ids = []
    for number, source in enumerate((WRONG_PY, ADD_PY)):
        solution = write(course.files / f"{number}.py", source)
        submitted = pc_ok(alice, "submit", problem[:8], solution)
        ids.append(submitted.out.split()[-1])
    assert "are graded; not this one" in submitted.out  # the second attempt, told at once
    share(alice, course.teacher)
    cli(course.teacher, "grade", problem[:8], "--tests", str(course.tests), "--all")
    first, second = (instructor_feedback(course.teacher)[i] for i in ids)
    assert "02-large: wrong answer" in str(first["comment"])  # verdicts: the reason is told
    assert (second["verdict"], second["score"]) == ("revise", None)
    assert second["comment"] == (
        "not graded: this problem grades each student's first 1 attempt(s), and this is attempt 2"
    )
    refused = pc(course.teacher, "problem", "publish", "--title", "X", "--graded-attempts", "0",
                 "--statement-file", str(course.files / "sum.md"))  # fmt: skip
    assert refused.code != 0 and "'0' is not a whole number of at least 1" in refused.err
