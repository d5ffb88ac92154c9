"""Pages and forms against one member's store (no network): what they show and what they
store, including refusals that must store nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from peer.log import MAX_CHAT_TEXT
from storage import Store
from storage.queries import chat_log, list_problems, list_submissions
from storage.queries._roster import roster_entries
from tests.helpers import ClassDirs, pc_ok
from tests.web.conftest import Ui, open_ui


def _post(
    ui: Ui, path: str, data: dict[str, str], files: dict[str, Any] | None = None
) -> httpx.Response:
    return ui.client.post(path, data={**data, "csrf": ui.csrf}, files=files, follow_redirects=False)


def test_a_message_over_the_limit_is_refused_with_a_clear_message(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    before = len(chat_log(teacher_ui.store))
    response = _post(teacher_ui, "/chat", {"room": "general", "text": "가" * (MAX_CHAT_TEXT + 1)})
    assert response.status_code == 400
    assert f"the limit is {MAX_CHAT_TEXT:,}" in response.text
    assert len(chat_log(teacher_ui.store)) == before
    in_lab = _post(
        teacher_ui, "/chat?room=lab", {"room": "lab", "text": "가" * (MAX_CHAT_TEXT + 1)}
    )
    assert in_lab.status_code == 400 and '<h1 id="conv-title">#lab' in in_lab.text
    at_limit = _post(teacher_ui, "/chat", {"room": "general", "text": "가" * MAX_CHAT_TEXT})
    assert at_limit.status_code == 303
    assert len(chat_log(teacher_ui.store)[-1].text) == MAX_CHAT_TEXT


def test_a_new_room_is_made_by_posting_and_counts_unread(teacher_ui: Ui, klass: ClassDirs) -> None:
    pc_ok(klass.students[1], "chat", "send", "--room", "lab-2", "first in lab")
    _bring(klass.students[1], teacher_ui.store)
    teacher_ui.sign_in()
    page = teacher_ui.client.get("/chat?room=general").text
    assert "#lab-2" in page and "1 unread message<" in page
    teacher_ui.client.get("/chat?room=lab-2")  # reading it clears the count
    assert 'aria-label="1 unread"' not in teacher_ui.client.get("/chat?room=general").text


def test_publish_dry_run_then_submit(teacher_ui: Ui, klass: ClassDirs) -> None:
    teacher_ui.sign_in()
    response = _post(
        teacher_ui,
        "/instructor/publish",
        {
            "title": "Echo",
            "statement": "Print what you read.\n\n<script>alert(1)</script>",
            "tags": "io",
            "due": "2030-01-02T09:30",
            "tz_offset": "-540",  # the browser is in UTC+9
            "late_policy": "refuse-grade",
            "input1": "hi\n",
            "output1": "hi\n",
        },
    )
    assert response.status_code == 303
    problem = next(
        p for p in list_problems(teacher_ui.store, teacher_ui.me.peer_id) if p.title == "Echo"
    )
    assert problem.due == 1893544200000  # 2030-01-02 00:30 UTC
    assert problem.late_policy == "refuse-grade" and problem.languages == ("python",)
    past = _post(
        teacher_ui,
        "/instructor/publish",
        {"title": "Old", "statement": "x", "due": "2001-01-01T00:00"},
    )
    assert past.status_code == 400 and "already passed" in past.text
    shown = teacher_ui.client.get(response.headers["location"]).text
    assert "&lt;script&gt;" in shown and "<script>alert" not in shown
    for student in klass.students:
        _bring(klass.instructor, Store.open(student), close=True)

    ui_gen = open_ui(klass.students[0])
    student = next(ui_gen)
    try:
        student.sign_in()
        path = f"/problems/{problem.id.hex()}"
        dry = _post(
            student, path, {"action": "check", "language": "python", "solution": "print(input())"}
        )
        assert dry.status_code == 200
        assert "passed 1 of 1" in dry.text and "nothing was recorded" in dry.text
        assert list_submissions(student.store, author=student.me.peer_id) == []
        upload = _post(
            student,
            path,
            {"action": "submit", "language": "python", "solution": ""},
            files={"file": ("echo.py", b"print(input())\n", "text/x-python")},
        )
        assert upload.status_code == 303
        mine = list_submissions(student.store, author=student.me.peer_id)
        assert [s.attempt for s in mine] == [1] and mine[0].checks_passed == 1
        empty = _post(student, path, {"action": "submit", "language": "python", "solution": " "})
        assert empty.status_code == 400 and "paste your solution" in empty.text
        assert len(list_submissions(student.store, author=student.me.peer_id)) == 1
    finally:
        ui_gen.close()


def test_the_instructor_admits_and_removes_from_the_roster(
    teacher_ui: Ui, klass: ClassDirs, tmp_path: Path
) -> None:
    newcomer = tmp_path / "newcomer"
    pc_ok(newcomer, "init", "--name", "박서연", "--invite", klass.invite)
    _bring(newcomer, teacher_ui.store)
    entry = next(
        e for e in roster_entries(teacher_ui.store, teacher_ui.me.peer_id) if e.name == "박서연"
    )
    assert entry.state == "pending"
    _bring(klass.instructor, Store.open(newcomer), close=True)
    ui_gen = open_ui(newcomer)
    pending = next(ui_gen)
    try:
        pending.sign_in()
        assert "waiting for the instructor to admit you" in pending.client.get("/problems").text
    finally:
        ui_gen.close()
    teacher_ui.sign_in()
    assert "Admit 박서연" in teacher_ui.client.get("/instructor").text
    assert "waiting for the instructor" not in teacher_ui.client.get("/problems").text
    admitted = _post(
        teacher_ui, "/instructor/roster", {"peer": entry.peer_id.hex(), "action": "admit"}
    )
    assert admitted.status_code == 303
    states = {e.name: e.state for e in roster_entries(teacher_ui.store, teacher_ui.me.peer_id)}
    assert states["박서연"] == "member"
    removed = _post(
        teacher_ui, "/instructor/roster", {"peer": entry.peer_id.hex(), "action": "remove"}
    )
    assert removed.status_code == 303
    states = {e.name: e.state for e in roster_entries(teacher_ui.store, teacher_ui.me.peer_id)}
    assert states["박서연"] == "removed"
    twice = _post(
        teacher_ui, "/instructor/roster", {"peer": entry.peer_id.hex(), "action": "remove"}
    )
    assert twice.status_code == 403


def test_reports_download_in_every_format(teacher_ui: Ui) -> None:
    teacher_ui.sign_in()
    for fmt, kind in [
        ("html", "text/html"),
        ("csv", "text/csv"),
        ("json", "application/json"),
        ("md", "text/markdown"),
    ]:
        response = teacher_ui.client.get(f"/report?format={fmt}")
        assert response.status_code == 200, fmt
        assert response.headers["content-type"].startswith(kind)
        assert "attachment" in response.headers["content-disposition"]
    assert teacher_ui.client.get("/report?format=pdf").status_code == 404


def _bring(source_dir: Path, target: Store, *, close: bool = False) -> None:
    """Copy every event of ``source_dir``'s store into ``target`` (as a sync would)."""
    source = Store.open(source_dir)
    try:
        for author in source.heads():
            target.ingest(source.events_range(author, 0, 10_000))
    finally:
        source.close()
        if close:
            target.close()
