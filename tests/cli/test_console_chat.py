"""The console, finished (issue 19), each behaviour on a real pseudo-terminal, read as a
VT100 screen renders it: multi-line messages indented, announcements, edits and deletions,
``--timestamps``, ``/msg`` and ``/reply``, ``/who`` on its own lines, and the instructor told
who is waiting to be admitted. The peers talk over real sockets on loopback."""

from __future__ import annotations

import re
from pathlib import Path

from peer.cli._console import announcements
from peer.cli._console_chat import waiting_lines
from peer.identity import load_membership
from peer.log import seal
from peer.testing import PeerProcess, free_udp_port, wait_until
from storage import Store
from tests.cli.pty_terminal import Terminal, open_terminal
from tests.helpers import exchange, make_class, pc_ok

STAMP = r"\d\d:\d\d:\d\d KST "


def _row_after(terminal: Terminal, pattern: str) -> tuple[str, str]:
    """The rendered row matching ``pattern`` (a regex, whole row) and the row below it."""
    rows = terminal.rows()
    for index, row in enumerate(rows):
        if re.fullmatch(pattern, row):
            return row, rows[index + 1] if index + 1 < len(rows) else ""
    raise AssertionError(f"no row matches {pattern!r}; the screen is:\n" + "\n".join(rows))


def test_arrivals_multi_line_announced_edited_deleted_with_timestamps(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1, names=["Teacher", "민준"])
    port = free_udp_port()
    teacher = PeerProcess(klass.instructor, port).start()
    terminal = open_terminal(klass.students[0], port, "--timestamps", env={"TZ": "Asia/Seoul"})
    try:
        at = terminal.wait_for("#general>")
        at = terminal.wait_for("Teacher (", at)  # joined: the peers are connected
        pc_ok(klass.instructor, "chat", "send", "첫 줄\r\nsecond line\rthird line")
        at = terminal.wait_for("third line", at)
        _, below = _row_after(terminal, STAMP + r"\[general\] Teacher \(\w{8}\): 첫 줄")
        assert below == " " * 17 + "second line"  # indented past the time, under the text
        pc_ok(klass.instructor, "chat", "announce", "시험은 금요일입니다")
        at = terminal.wait_for("시험은 금요일입니다", at)
        _row_after(terminal, STAMP + r"\[announcement\] Teacher \(\w{8}\): 시험은 금요일입니다")
        typo = pc_ok(klass.instructor, "chat", "send", "homwork due Friday").out.strip()
        at = terminal.wait_for("homwork due Friday", at)
        pc_ok(klass.instructor, "chat", "edit", typo[:8], "homework due Friday")
        at = terminal.wait_for(f"edited ({typo[:8]}): homework due Friday", at)
        pc_ok(klass.instructor, "chat", "delete", typo[:10])
        at = terminal.wait_for(f"deleted a message ({typo[:8]})", at)
        _row_after(
            terminal, STAMP + rf"\[general\] Teacher \(\w{{8}}\) deleted a message \({typo[:8]}\)"
        )
        # The student's own store holds what the console told: edited, then deleted.
        [shown] = [
            m for m in pc_ok(klass.students[0], "chat", "log", "--json").json() if m["id"] == typo
        ]
        assert shown["deleted"] and shown["text"] == ""
        joined = [row for row in terminal.rows() if row.endswith(" joined")]
        assert len(joined) == 1 and "Teacher" in joined[0]
    finally:
        terminal.close()
        teacher.stop()


def test_private_messages_msg_and_reply_and_who_on_its_own_lines_in_korean(
    tmp_path: Path,
) -> None:
    """The console speaks the terminal's language; commands, names and ids stay as typed."""
    klass = make_class(tmp_path, students=1, names=["Ms Kim", "민준"])
    # A returning student: the roster is already here, so the arrival names the teacher (a
    # first connection can announce her before the roster has arrived, as not yet known).
    exchange(klass.instructor, klass.students[0])
    port = free_udp_port()
    teacher = PeerProcess(klass.instructor, port).start()
    terminal = open_terminal(klass.students[0], port, env={"LANGUAGE": "ko"})
    try:
        at = terminal.wait_for("#general>")
        _row_after(terminal, "메시지를 입력하고 Enter를 누르면 #general 방으로 보냅니다.*")
        at = terminal.wait_for("님이 들어왔습니다", at)
        _row_after(terminal, r"\[수업\] Ms Kim \(\w{8}\) 님이 들어왔습니다")
        terminal.type("/msg Ms Kim 질문이 있어요\r")  # a name with a space
        at = terminal.wait_for("(Ms Kim님에게 비공개로 보냈습니다)", at)

        def teacher_has(text: str) -> bool:
            log = pc_ok(klass.instructor, "chat", "log", "--json").json()
            return any(m["text"] == text and "to" in m for m in log)

        wait_until(lambda: teacher_has("질문이 있어요"), 30, "the private message at the teacher")
        pc_ok(klass.instructor, "chat", "send", "--to", "민준", "물어보세요")
        at = terminal.wait_for("물어보세요", at)
        _row_after(terminal, r"\[비공개\] Ms Kim \(\w{8}\): 물어보세요")
        terminal.type("/reply 고맙습니다\r")
        at = terminal.wait_for("(Ms Kim님에게 비공개로 보냈습니다)", at)
        wait_until(lambda: teacher_has("고맙습니다"), 30, "the reply at the teacher")
        terminal.type("/who\r")
        at = terminal.wait_for(": 접속 중", at)
        who, _ = _row_after(terminal, r"  Ms Kim \(\w{8}\): 접속 중")
        assert who.startswith("  Ms Kim")  # a row of its own, not after the prompt
        terminal.type("/reply\r")
        terminal.wait_for("/reply TEXT", at)
        terminal.type("/shrug\r")
        terminal.wait_for("알 수 없는 명령 /shrug", at)
    finally:
        terminal.close()
        teacher.stop()


def test_the_instructor_is_told_who_is_waiting_to_be_admitted(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=0, names=["Teacher"])
    newbie = tmp_path / "newbie"
    pc_ok(newbie, "init", "--name", "Jisoo Park", "--invite", klass.invite)  # pending
    port = free_udp_port()
    terminal = open_terminal(klass.instructor, port)
    joiner = PeerProcess(newbie, port)
    try:
        at = terminal.wait_for("#general>")
        joiner.start()
        at = terminal.wait_for("is waiting", at)
        _row_after(
            terminal, r"\[class\] Jisoo Park \(\w{8}\) is waiting: peerclass admit 'Jisoo Park'"
        )
    finally:
        terminal.close()
        joiner.stop()


def test_at_start_the_instructor_hears_who_is_still_waiting(tmp_path: Path) -> None:
    """Joiners that arrived while the instructor's peer was off are told when it starts; one
    holding a one-student invite is admitted by that peer on its own, so it is not."""
    klass = make_class(tmp_path, students=0, names=["Teacher"])
    open_joiner, invited = tmp_path / "open", tmp_path / "invited"
    pc_ok(open_joiner, "init", "--name", "Jisoo Park", "--invite", klass.invite)
    one_student = pc_ok(klass.instructor, "invite", "--for", "Minho").out.strip()
    pc_ok(invited, "init", "--name", "Minho", "--invite", one_student)
    teacher = Store.open(klass.instructor)
    try:
        for joiner in (open_joiner, invited):
            source = Store.open(joiner)
            try:
                teacher.ingest(source.events_range(next(iter(source.heads())), 0, 100))
            finally:
                source.close()
        lines = waiting_lines(teacher, load_membership(klass.instructor))
    finally:
        teacher.close()
    assert len(lines) == 1
    assert re.fullmatch(
        r"\[class\] Jisoo Park \(\w{8}\) is waiting: peerclass admit 'Jisoo Park'", lines[0]
    )
    student = Store.open(open_joiner)
    try:
        assert waiting_lines(student, load_membership(open_joiner)) == []  # not an instructor
    finally:
        student.close()


def test_only_edits_that_count_are_told(tmp_path: Path) -> None:
    """Someone else's edit, or one addressed to another reader, changes nothing and is not
    printed; the author's own edit is, with the text it gives the message."""
    klass = make_class(tmp_path, students=2, names=["Teacher", "민준", "Jisoo"])
    minjun, jisoo = klass.students
    exchange(*klass.all)
    teacher, thief = load_membership(klass.instructor), load_membership(jisoo)
    note = pc_ok(klass.instructor, "chat", "send", "homwork").out.strip()
    secret = pc_ok(klass.instructor, "chat", "send", "--to", "민준", "비밀").out.strip()
    edits = []
    store = Store.open(klass.instructor)
    try:
        edits.append(
            store.append(
                teacher.signing_key, "edit", {"target": bytes.fromhex(note), "text": "homework"}
            )
        )
        moved = seal(teacher.signing_key, thief.peer_id, "moved to Jisoo")
        edits.append(
            store.append(
                teacher.signing_key,
                "edit",
                {"target": bytes.fromhex(secret), "to": thief.peer_id, "sealed": moved},
            )
        )
        fixed = seal(teacher.signing_key, load_membership(minjun).peer_id, "고친 비밀")
        edits.append(
            store.append(
                teacher.signing_key,
                "edit",
                {
                    "target": bytes.fromhex(secret),
                    "to": load_membership(minjun).peer_id,
                    "sealed": fixed,
                },
            )
        )
    finally:
        store.close()
    store = Store.open(jisoo)
    try:
        edits.append(
            store.append(
                thief.signing_key, "edit", {"target": bytes.fromhex(note), "text": "hijacked"}
            )
        )
    finally:
        store.close()
    exchange(*klass.all)
    store = Store.open(minjun)
    try:
        told = announcements(store, load_membership(minjun), [e.raw for e in edits])
    finally:
        store.close()
    assert [re.sub(r"\(\w{8}\)", "(ID)", line) for line in told] == [
        "[general] Teacher (ID) edited (ID): homework",
        "[private] Teacher (ID) edited (ID): 고친 비밀",
    ]
