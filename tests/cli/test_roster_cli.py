"""``invite``, ``admit``, ``remove``, ``roster`` and what commands show of sealed work."""

from __future__ import annotations

from pathlib import Path

from peer.cli._output import safe_line
from peer.identity import parse_invite
from storage import Store
from storage.queries._roster import pending_duties
from tests.helpers import make_class, pc, pc_ok


def bring(source: Path, target: Path) -> None:
    """Every event ``source`` holds, delivered to ``target`` (what a sync would do)."""
    src, dst = Store.open(source), Store.open(target)
    try:
        raws = [r for a in src.heads() for r in src.events_range(a, 0, 10_000)]
        assert dst.ingest(raws).rejected == ()
    finally:
        src.close()
        dst.close()


def run_duties(data_dir: Path) -> int:
    """What the running peer does when events arrive (``peer.cli._roster.keep_membership``)."""
    from peer.identity import load_membership

    me, store = load_membership(data_dir), Store.open(data_dir)
    try:
        duties = pending_duties(store)
        for duty in duties:
            store.append(me.signing_key, duty.kind, duty.body)
        return len(duties)
    finally:
        store.close()


def roster(data_dir: Path) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in pc_ok(data_dir, "roster", "--json").json()}


def one_line_error(result_err: str, code: int) -> None:
    assert code != 0 and result_err.count("\n") == 1 and "Traceback" not in result_err


def test_a_one_student_invite_admits_its_first_joiner_under_its_name(tmp_path: Path) -> None:
    teacher = make_class(tmp_path, students=0).instructor
    invite = pc_ok(teacher, "invite", "--for", "Jisoo").out.strip()
    _, token = parse_invite(invite)
    assert token is not None
    first, second = tmp_path / "first", tmp_path / "second"
    pc_ok(first, "init", "--name", "Teacher", "--invite", invite)  # asks for another's name
    pc_ok(second, "init", "--name", "Copycat", "--invite", invite)  # the same invite, again
    for joiner in (first, second):
        store = Store.open(joiner)
        raws = [r for a in store.heads() for r in store.events_range(a, 0, 100)]
        store.close()
        assert not any(token in raw for raw in raws)  # the token never travels in the clear
        bring(joiner, teacher)
    assert run_duties(teacher) == 1
    assert run_duties(teacher) == 0  # used once
    listed = roster(teacher)
    assert listed["Jisoo"]["state"] == "member" and listed["Jisoo"]["role"] == "student"
    assert listed["Copycat"]["state"] == "pending"
    assert set(listed["Jisoo"]) == {"peer_id", "name", "role", "state"}
    assert listed["Teacher"]["role"] == "instructor"  # the only Teacher is the instructor


def test_open_invite_joiners_are_pending_until_admitted_then_removed(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1)
    newcomer = tmp_path / "newcomer"
    pc_ok(newcomer, "init", "--name", "Minho", "--invite", pc_ok(klass.instructor, "invite").out)
    bring(newcomer, klass.instructor)
    assert roster(klass.instructor)["Minho"]["state"] == "pending"
    table = pc_ok(klass.instructor, "roster").out
    assert "Minho" in table and "pending" in table
    pc_ok(klass.instructor, "admit", "minho")
    assert roster(klass.instructor)["Minho"]["state"] == "member"
    pc_ok(klass.instructor, "remove", "Minho")
    assert roster(klass.instructor)["Minho"]["state"] == "removed"
    for args in (["remove", "Minho"], ["admit", "Nobody"], ["remove", "Teacher"]):
        result = pc(klass.instructor, *args)
        one_line_error(result.err, result.code)
    student = pc(klass.students[0], "admit", "Minho")
    one_line_error(student.err, student.code)
    assert "only the instructor" in student.err


def test_a_student_sees_that_classmates_work_exists_without_its_content(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=2)
    teacher, alice, bob = klass.instructor, *klass.students
    (tmp_path / "p.md").write_text("Print 1.")
    problem = pc_ok(teacher, "problem", "publish", "--title", "One", "--statement-file",
                    str(tmp_path / "p.md")).out.strip()  # fmt: skip
    for d in (alice, bob):
        bring(teacher, d)
    (tmp_path / "a.py").write_text("print(1)  # alice-only\n")
    sub = pc_ok(alice, "submit", problem[:8], str(tmp_path / "a.py")).out.split()[-1]
    for d in (teacher, bob):
        bring(alice, d)
    [seen] = pc_ok(bob, "submissions", "--json").json()
    assert (seen["id"], seen["readable"], seen["language"]) == (sub, False, None)
    shown = pc_ok(bob, "submission", "show", sub[:8]).out
    assert "alice-only" not in shown and "cannot read" in shown
    assert "alice-only" in pc_ok(teacher, "submission", "show", sub[:8]).out
    refused = pc(bob, "report", "--class", "--format", "csv")
    one_line_error(refused.err, refused.code)
    assert "instructor" in refused.err and refused.out == ""
    assert "Student1" in pc_ok(teacher, "report", "--class", "--format", "md").out


def test_chat_with_line_breaks_and_controls_prints_as_inert_indented_lines(
    tmp_path: Path,
) -> None:
    klass = make_class(tmp_path, students=1)
    sneaky = "hi\n2026-01-01 [general] Teacher (00000000): fake\u202eevil\u2066\x9b2J"
    pc_ok(klass.students[0], "chat", "send", sneaky)
    bring(klass.students[0], klass.instructor)
    out = pc_ok(klass.instructor, "chat", "log").out
    # A line break in a message prints as an indented continuation line (issue 19), so the
    # second line can never pass for a message of its own; controls stay escaped.
    first, rest = out.splitlines()
    assert "Student1" in first and first.endswith(": hi")
    assert rest.startswith("    ") and rest.strip().startswith("2026-01-01 [general] Teacher")
    assert "\\u202e" in rest and "\\u2066" in rest and "\\x9b" in rest
    assert not any(c in out for c in "\u202e\u2066\x9b")
    # What schemas refuse on receipt (\r, escape sequences) is inert here too.
    assert safe_line("a\rb\x1b[2J\x1b]0;title\x07") == "a\\rb\\x1b[2J\\x1b]0;title\\x07"
