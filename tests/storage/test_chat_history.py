"""The whole chat history (issue 19): edits and deletes by the author only, revisions for the
author and the instructor, announcements pinned until dismissed, search (Korean included),
and keyset pages of a room or a private conversation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peer.errors import UsageError
from peer.log import seal, unseal
from storage import dismiss_announcement
from storage.queries import (
    chat_log,
    message_revisions,
    messages_by_id,
    pinned_announcements,
    search_chat,
)
from tests.storage.privacy_world import World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.make(tmp_path, ["teacher", "jisoo", "minjun"])
    w.admit("jisoo", "minjun")
    w.sync()
    yield w
    w.close()


def say(w: World, who: str, text: str, **extra: object) -> bytes:
    return w[who].append("chat", {"room": "general", "text": text, **extra})


def shown(w: World, who: str, message: bytes) -> tuple[str, bool, bool]:
    [m] = messages_by_id(w[who].store, [message])
    return m.text, m.edited, m.deleted


def test_everyone_sees_the_latest_text_marked_edited_or_deleted(world: World) -> None:
    first = say(world, "jisoo", "숙제는 금요일까지")
    second = say(world, "jisoo", "typo here")
    world.sync()
    world["jisoo"].append("edit", {"target": first, "text": "숙제는 목요일까지"})
    world["jisoo"].append("delete", {"target": second})
    world.sync()
    for who in ("teacher", "jisoo", "minjun"):
        assert shown(world, who, first) == ("숙제는 목요일까지", True, False)
        assert shown(world, who, second) == ("", False, True)
    assert [m.text for m in chat_log(world["minjun"].store)] == ["숙제는 목요일까지", ""]


def test_only_the_author_can_edit_or_delete(world: World) -> None:
    message = say(world, "jisoo", "mine")
    world.sync()
    # Signed and relayed like any event, but someone else's edit or delete changes nothing.
    world["minjun"].append("edit", {"target": message, "text": "hijacked"})
    world["teacher"].append("delete", {"target": message})
    world.sync()
    for who in ("teacher", "jisoo", "minjun"):
        assert shown(world, who, message) == ("mine", False, False)
        assert [m.id for m in search_chat(world[who].store, "mine")] == [message]
        assert search_chat(world[who].store, "hijacked") == []


def test_a_private_edit_stays_sealed_to_the_same_recipient(world: World) -> None:
    key, minjun = world["jisoo"].key, world["minjun"].id
    message = world["jisoo"].append(
        "chat", {"room": "general", "to": minjun, "sealed": seal(key, minjun, "비밀 메시지")}
    )
    world.sync()
    world["jisoo"].append(
        "edit", {"target": message, "to": minjun, "sealed": seal(key, minjun, "고친 비밀")}
    )
    teacher = world["teacher"].id  # an edit cannot move a message to another reader
    world["jisoo"].append(
        "edit", {"target": message, "to": teacher, "sealed": seal(key, teacher, "moved")}
    )
    world["jisoo"].append("edit", {"target": message, "text": "made public"})
    world.sync()
    [m] = messages_by_id(world["minjun"].store, [message])
    assert m.edited and m.sealed is not None
    assert unseal(world["minjun"].key, m.author, minjun, m.sealed) == "고친 비밀"
    assert [x.id for x in search_chat(world["minjun"].store, "고친")] == [message]
    for who in ("teacher", "minjun"):
        assert search_chat(world[who].store, "made public") == []
    assert search_chat(world["teacher"].store, "moved") == []  # never indexed for the teacher


def test_revisions_are_for_the_author_and_the_instructor(world: World) -> None:
    message = say(world, "jisoo", "v1")
    world["jisoo"].append("edit", {"target": message, "text": "v2"})
    world["jisoo"].append("delete", {"target": message})
    world.sync()
    for who in ("jisoo", "teacher"):
        revisions = message_revisions(world[who].store, message, world[who].id)
        assert [(r.action, r.text) for r in revisions] == [
            ("original", "v1"),
            ("edit", "v2"),
            ("delete", ""),
        ]
    with pytest.raises(UsageError, match="only its author and the instructor"):
        message_revisions(world["minjun"].store, message, world["minjun"].id)


def test_search_finds_korean_words_of_any_length_and_follows_edits(world: World) -> None:
    hello = say(world, "jisoo", "안녕하세요 여러분, 오늘 수업은 2시입니다")
    code = say(world, "minjun", "```python\nprint('Hello')\n```")
    other = say(world, "teacher", "Homework 3 is out", room="homework")
    world.sync()
    store = world["minjun"].store
    assert [m.id for m in search_chat(store, "녕하세")] == [hello]  # three syllables: the index
    assert [m.id for m in search_chat(store, "여러")] == [hello]  # two: the scan fallback
    assert [m.id for m in search_chat(store, "수업 2시")] == [hello]  # every word must occur
    assert [m.id for m in search_chat(store, "HELLO")] == [code]  # any case
    assert [m.id for m in search_chat(store, "3")] == [other]
    assert search_chat(store, "homework", room="general") == []
    assert [m.id for m in search_chat(store, "homework", room="homework")] == [other]
    assert search_chat(store, 'a" OR "b') == []  # FTS operators in a query are plain text
    world["jisoo"].append("edit", {"target": hello, "text": "수업이 취소되었습니다"})
    world["minjun"].append("delete", {"target": code})
    world.sync()
    assert search_chat(store, "여러") == []
    assert [m.text for m in search_chat(store, "취소")] == ["수업이 취소되었습니다"]
    assert search_chat(store, "hello") == []
    # The index is a projection: a rebuild makes the same one from the logs.
    store.rebuild_projections()
    assert [m.id for m in search_chat(store, "취소")] == [hello]
    assert search_chat(store, "hello") == []
    with pytest.raises(UsageError, match="give some words"):
        search_chat(store, "   ")


def test_an_edit_arriving_with_its_message_in_one_batch(world: World) -> None:
    """A catch-up brings a message and its edit together: the edit sees the message's row."""
    message = say(world, "jisoo", "draft answer")
    world["jisoo"].append("edit", {"target": message, "text": "final answer"})
    world.sync()
    store = world["teacher"].store
    assert shown(world, "teacher", message) == ("final answer", True, False)
    assert [m.id for m in search_chat(store, "final")] == [message]
    assert search_chat(store, "draft") == []


def test_announcements_are_the_instructors_and_stay_pinned_until_dismissed(world: World) -> None:
    notice = say(world, "teacher", "시험은 금요일입니다", announcement=True)
    say(world, "jisoo", "I am not the teacher", announcement=True)
    world.sync()
    for who in ("teacher", "jisoo", "minjun"):
        assert [m.id for m in pinned_announcements(world[who].store)] == [notice]
    [fake] = [m for m in chat_log(world["minjun"].store) if m.author == world["jisoo"].id]
    assert not fake.announcement  # a student's flag is ignored, the message stays chat
    dismiss_announcement(world["minjun"].store, notice)
    dismiss_announcement(world["minjun"].store, notice)  # twice is harmless
    assert pinned_announcements(world["minjun"].store) == []
    assert [m.id for m in pinned_announcements(world["jisoo"].store)] == [notice]
    world["minjun"].store.rebuild_projections()  # dismissal is local state, not a projection
    assert pinned_announcements(world["minjun"].store) == []
    world["teacher"].append("delete", {"target": notice})
    world.sync()
    assert pinned_announcements(world["jisoo"].store) == []
    with pytest.raises(UsageError, match="no announcement"):
        dismiss_announcement(world["jisoo"].store, b"\x01" * 32)


def test_a_co_instructor_on_the_roster_may_announce(world: World) -> None:
    world["teacher"].append(
        "roster",
        {"action": "admit", "peer": world["minjun"].id, "name": "minjun", "role": "instructor"},
    )
    notice = say(world, "minjun", "Lab moved to room 301", announcement=True)
    world.sync()
    assert [m.id for m in pinned_announcements(world["jisoo"].store)] == [notice]


def test_scrolling_back_a_room_and_a_conversation_a_page_at_a_time(world: World) -> None:
    for n in range(25):
        say(world, "jisoo", f"room line {n}")
    key, minjun = world["jisoo"].key, world["minjun"].id
    for n in range(7):
        world["jisoo"].append(
            "chat", {"room": "general", "to": minjun, "sealed": seal(key, minjun, f"dm {n}")}
        )
    world.sync()
    store, me = world["minjun"].store, world["minjun"].id
    pages: list[list[str]] = []
    before = None
    while True:
        page = chat_log(store, "general", 10, before=before, reader=me)
        public = [m for m in page if m.recipient is None]
        if not page:
            break
        pages.append([m.text for m in public])
        before = page[0].id
    texts = [t for page in reversed(pages) for t in page]
    assert texts == [f"room line {n}" for n in range(25)]
    dms = chat_log(store, limit=4, reader=me, conversation=world["jisoo"].id)
    older = chat_log(store, limit=4, before=dms[0].id, reader=me, conversation=world["jisoo"].id)
    opened = [unseal(world["minjun"].key, m.author, m.recipient, m.sealed) for m in older + dms]
    assert opened == [f"dm {n}" for n in range(7)]
    # Someone outside the conversation reads none of it.
    teacher = world["teacher"]
    assert chat_log(teacher.store, reader=teacher.id, conversation=world["jisoo"].id) == []
