"""The chat pages against one member's store (no network): text as the browser sends it, a
refused form shown again with what was typed, announcements, edits and deletes of one's own
messages only, the unread count and alerts on every page, the Korean page, and pages of older
messages that never read the whole history."""

from __future__ import annotations

import re

import httpx

from peer.log import hlc
from peer.web._chat_model import OLDER_PAGE, PAGE
from storage.queries import chat_log
from tests.web.conftest import Ui


def _post(ui: Ui, path: str, data: dict[str, str]) -> httpx.Response:
    return ui.client.post(path, data={**data, "csrf": ui.csrf}, follow_redirects=False)


def test_line_breaks_from_the_browser_are_stored_as_newlines(student_ui: Ui) -> None:
    student_ui.sign_in()
    text = "first line\r\nsecond line\rthird\r\n\r\n```python\r\nprint(1)\r\n```"
    assert _post(student_ui, "/chat", {"room": "general", "text": text}).status_code == 303
    stored = chat_log(student_ui.store)[-1].text
    assert stored == "first line\nsecond line\nthird\n\n```python\nprint(1)\n```"
    page = student_ui.client.get("/chat?room=general").text
    assert 'class="tok-nb">print</span>' in page  # fenced code highlighted by Pygments


def test_a_refused_message_comes_back_with_its_text_and_the_reason(student_ui: Ui) -> None:
    student_ui.sign_in()
    before = len(chat_log(student_ui.store))
    typed = "a bell \a in\r\nmy message"
    refused = _post(student_ui, "/chat", {"room": "general", "text": typed})
    assert refused.status_code == 400
    assert "control characters" in refused.text
    assert "a bell \a in\nmy message</textarea>" in refused.text or (
        "a bell \a in\r\nmy message</textarea>" in refused.text
    )
    assert len(chat_log(student_ui.store)) == before
    korean = student_ui.client.post(
        "/chat",
        data={"room": "general", "text": "", "csrf": student_ui.csrf},
        headers={"accept-language": "ko-KR,ko;q=0.9"},
    )
    assert korean.status_code == 400 and "메시지가 비어 있습니다" in korean.text


def test_only_the_instructor_announces_and_an_announcement_is_pinned(
    teacher_ui: Ui, student_ui: Ui
) -> None:
    student_ui.sign_in()
    no = _post(student_ui, "/chat", {"room": "general", "text": "hi all", "announcement": "1"})
    assert no.status_code == 400 and "only the instructor posts announcements" in no.text
    teacher_ui.sign_in()
    text = "Quiz on Friday"
    ok = _post(teacher_ui, "/chat", {"room": "general", "text": text, "announcement": "1"})
    assert ok.status_code == 303
    page = teacher_ui.client.get("/chat?room=general").text
    pinned = page.split('id="announcements"')[1].split('class="conv-head"')[0]
    assert text in pinned
    message = chat_log(teacher_ui.store)[-1]
    assert message.announcement
    dismissed = _post(teacher_ui, "/chat/dismiss", {"target": message.id.hex(), "back": "/chat"})
    assert dismissed.status_code == 303
    page = teacher_ui.client.get("/chat?room=general").text
    assert text not in page.split('id="announcements"')[1].split('class="conv-head"')[0]


def test_one_edits_and_deletes_only_ones_own_messages(teacher_ui: Ui, student_ui: Ui) -> None:
    teacher_ui.sign_in()
    _post(teacher_ui, "/chat", {"room": "general", "text": "teacher's line"})
    theirs = chat_log(teacher_ui.store)[-1]
    student_ui.sign_in()
    _post(student_ui, "/chat", {"room": "general", "text": "my typo"})
    mine = chat_log(student_ui.store)[-1]
    page = student_ui.client.get(f"/chat/message/{mine.id.hex()}?back=/chat")
    assert page.status_code == 200 and "my typo</textarea>" in page.text
    edited = _post(student_ui, "/chat/edit", {"target": mine.id.hex(), "text": "fixed\r\nline"})
    assert edited.status_code == 303
    assert chat_log(student_ui.store)[-1].text == "fixed\nline"
    assert chat_log(student_ui.store)[-1].edited
    empty = _post(student_ui, "/chat/edit", {"target": mine.id.hex(), "text": " "})
    assert empty.status_code == 400 and "the message is empty" in empty.text
    for author in teacher_ui.store.heads():  # the teacher's message arrives, as a sync does
        student_ui.store.ingest(teacher_ui.store.events_range(author, 0, 10_000))
    assert student_ui.client.get(f"/chat/message/{theirs.id.hex()}").status_code == 403
    forged = _post(student_ui, "/chat/edit", {"target": theirs.id.hex(), "text": "mine now"})
    assert forged.status_code == 403 and "only your own messages" in forged.text
    refused = _post(student_ui, "/chat/delete", {"target": theirs.id.hex(), "back": "/chat"})
    assert refused.status_code == 403
    held = next(m for m in chat_log(student_ui.store) if m.id == theirs.id)
    assert held.text == "teacher's line" and not held.edited and not held.deleted
    own = student_ui.client.get(f"/chat/message/{mine.id.hex()}").text
    assert "Earlier versions (1)" in own and "my typo" in own
    for author in student_ui.store.heads():  # the instructor sees the versions too
        teacher_ui.store.ingest(student_ui.store.events_range(author, 0, 10_000))
    seen = teacher_ui.client.get(f"/chat/message/{mine.id.hex()}")
    assert seen.status_code == 200 and "my typo" in seen.text and "edit-text" not in seen.text
    deleted = _post(student_ui, "/chat/delete", {"target": mine.id.hex(), "back": "/chat"})
    assert deleted.status_code == 303
    assert chat_log(student_ui.store)[-1].deleted
    assert "(message deleted)" in student_ui.client.get("/chat?room=general").text


def test_unread_counts_and_alerts_for_every_page(teacher_ui: Ui, student_ui: Ui) -> None:
    student_ui.sign_in()
    start = hlc.from_ms(hlc.wall_ms()) - 1
    name = student_ui.store.names()[student_ui.me.peer_id]
    me = student_ui.me
    teacher = teacher_ui.me
    # the instructor's mention arrives in the student's store, as a sync brings it
    teacher_ui.store.append(teacher.signing_key, "chat", {"room": "quiet", "text": f"@{name} hi"})
    for author in teacher_ui.store.heads():
        student_ui.store.ingest(teacher_ui.store.events_range(author, 0, 10_000))
    found = student_ui.client.get(f"/chat/unread.json?after={start}").json()
    assert found["total"] >= 1
    alert = next(a for a in found["alerts"] if a["kind"] == "mention")
    assert alert["url"] == "/chat?room=quiet" and f"@{name} hi" == alert["text"]
    problems = student_ui.client.get("/problems").text  # the count on another page
    assert re.search(r'data-unread="[1-9]\d*"', problems)
    assert alert["title"] == "김선생 mentioned you"
    assert me.peer_id != teacher.peer_id


def test_a_long_history_is_read_a_page_at_a_time(student_ui: Ui) -> None:
    student_ui.sign_in()
    store = student_ui.store
    items = [("chat", {"room": "long", "text": f"long line {i}"}) for i in range(600)]
    store.append_many(student_ui.me.signing_key, items)
    page = student_ui.client.get("/chat?room=long").text
    assert page.count('<article class="msg') == PAGE
    assert 'data-more="True"' in page and "long line 599" in page
    oldest = re.search(r'data-oldest="([0-9a-f]+)"', page)
    assert oldest is not None
    older = student_ui.client.get(f"/chat/older?room=long&before={oldest.group(1)}").text
    assert older.count('<article class="msg') == OLDER_PAGE
    assert f"long line {600 - PAGE - 1}" in older and f"long line {600 - PAGE}" not in older
