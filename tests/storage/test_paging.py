"""Pages of the chat history: the newest N, before a message, since a time, streamed a page
at a time; and migration 0006, which compacts an existing store without losing a message."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

import migrations
from peer.errors import UsageError
from peer.log import make_event, seal
from peer.log._events import Event
from storage import Store
from storage._store import DB_FILE
from storage.queries import _chat
from storage.queries._chat import ChatMessage, chat_log, iter_chat_log
from tests.fixtures_core import BASE_TS, chain, new_key, raws

ALICE, BOB, CAROL = new_key(), new_key(), new_key()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "store")
    yield s
    s.close()


def _order(messages: list[ChatMessage]) -> list[tuple[int, bytes, int]]:
    return [(m.ts, m.author, m.seq) for m in messages]


@pytest.fixture
def history(store: Store) -> list[ChatMessage]:
    """Two authors whose events share timestamps (ties are broken by author, then seq), in two
    rooms: 12 messages."""
    stamps = [BASE_TS + 1000 * (i // 2) for i in range(6)]  # each ts twice in one log
    for key in (ALICE, BOB):
        events = chain(key, 6, ts=[s + i % 2 for i, s in enumerate(stamps)])
        assert not store.ingest(raws(events)).rejected
    store.ingest(
        raws(chain(CAROL, 3, ts=[BASE_TS + 500, BASE_TS + 1500, BASE_TS + 2500], room="homework"))
    )
    everything = chat_log(store)
    assert len(everything) == 15
    assert _order(everything) == sorted(_order(everything))
    return everything


def test_limit_gives_the_newest_messages_oldest_first(
    store: Store, history: list[ChatMessage]
) -> None:
    assert chat_log(store, limit=4) == history[-4:]
    assert chat_log(store, limit=100) == history
    assert chat_log(store, limit=0) == []
    homework = [m for m in history if m.room == "homework"]
    assert chat_log(store, "homework", limit=2) == homework[-2:]


def test_pages_before_a_message_walk_back_through_the_whole_history(
    store: Store, history: list[ChatMessage]
) -> None:
    pages: list[list[ChatMessage]] = []
    before = None
    while True:
        page = chat_log(store, limit=4, before=before)
        if not page:
            break
        pages.append(page)
        before = page[0].id
    assert [m for page in reversed(pages) for m in page] == history
    assert [len(p) for p in pages] == [4, 4, 4, 3]


def test_since_keeps_messages_from_that_time_on(store: Store, history: list[ChatMessage]) -> None:
    since = BASE_TS + 1500
    assert chat_log(store, since=since) == [m for m in history if m.ts >= since]
    assert chat_log(store, since=since, limit=2) == history[-2:]
    middle = history[7]
    both = chat_log(store, since=since, before=middle.id)
    assert both == [m for m in history[:7] if m.ts >= since]


def test_streaming_reads_page_after_page_in_order(
    store: Store, history: list[ChatMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_chat, "PAGE", 2)
    reads = 0
    read = store.read

    def counting_read() -> object:
        nonlocal reads
        reads += 1
        return read()

    monkeypatch.setattr(store, "read", counting_read)
    streamed = iter_chat_log(store)
    first = next(streamed)
    assert first == history[0] and reads == 1  # one page read, not the whole history
    assert [first, *streamed] == history
    assert reads == 8  # 15 messages in pages of 2, and the empty read past the end


def test_before_an_id_that_is_no_chat_message_is_refused(
    store: Store, history: list[ChatMessage]
) -> None:
    with pytest.raises(UsageError, match="no chat message"):
        chat_log(store, before=bytes(32))
    profile = make_event(
        new_key(),
        seq=1,
        prev=None,
        ts=BASE_TS,
        kind="profile",
        body={"name": "Dan", "role": "student"},
    )
    store.ingest([profile.raw])
    with pytest.raises(UsageError, match="no chat message"):
        chat_log(store, before=profile.id)


def _private(sender: object, recipient: bytes, text: str, seq: int, prev: Event | None) -> Event:
    body = {"room": "general", "to": recipient, "sealed": seal(sender, recipient, text)}  # type: ignore[arg-type]
    return make_event(
        sender,
        seq=seq,
        prev=None if prev is None else prev.id,  # type: ignore[arg-type]
        ts=BASE_TS + seq * 1000,
        kind="chat",
        body=body,
    )


def test_a_reader_sees_public_messages_and_only_its_own_private_ones(store: Store) -> None:
    alice, bob, carol = (bytes(k.verify_key) for k in (ALICE, BOB, CAROL))
    to_bob = _private(ALICE, bob, "for bob", 1, None)
    to_carol = _private(ALICE, carol, "for carol", 2, to_bob)
    public = chain(ALICE, 1, start=to_carol)
    store.ingest([to_bob.raw, to_carol.raw, public[0].raw])
    seen_by_bob = chat_log(store, reader=bob)
    assert [m.id for m in seen_by_bob] == [to_bob.id, public[0].id]
    assert seen_by_bob[0].recipient == bob and seen_by_bob[0].sealed is not None
    assert seen_by_bob[0].text == ""  # sealed: only the recipient's key opens it
    # The page is counted after leaving others' private messages out.
    assert [m.id for m in chat_log(store, limit=2, reader=bob)] == [to_bob.id, public[0].id]
    assert len(chat_log(store, reader=alice)) == 3
    assert len(chat_log(store)) == 3


def test_the_text_comes_from_the_stored_event(store: Store) -> None:
    event = store.append(ALICE, "chat", {"room": "r", "text": "안녕 <b>hi</b>"})
    [message] = chat_log(store)
    assert (message.id, message.text, message.room, message.author) == (
        event.id,
        "안녕 <b>hi</b>",
        "r",
        bytes(ALICE.verify_key),
    )


# ---- migration 0006 ------------------------------------------------------------------------


def _alembic(conn: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["connection"] = conn
    return config


def test_migration_0006_compacts_an_old_store_and_keeps_every_message(tmp_path: Path) -> None:
    data = tmp_path / "old"
    data.mkdir()
    engine = create_engine(f"sqlite:///{data / DB_FILE}")
    with engine.begin() as conn:
        command.upgrade(_alembic(conn), "0005")
    events = chain(ALICE, 3, room="old") + chain(BOB, 2)
    with sqlite3.connect(data / DB_FILE) as db:  # rows as the code before 0006 wrote them
        for e in events:
            db.execute(
                "INSERT INTO events (author, seq, id, prev, ts, kind, raw, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                (e.author, e.seq, e.id, e.prev, e.ts, e.kind, e.raw),
            )
            db.execute(
                "INSERT INTO messages (event_id, author, seq, ts, room, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (e.id, e.author, e.seq, e.ts, e.body["room"], e.body["text"]),
            )
        for author, last in ((ALICE, events[2]), (BOB, events[4])):
            db.execute(
                "INSERT INTO heads (author, seq, id, ts, forked) VALUES (?, ?, ?, ?, 0)",
                (bytes(author.verify_key), last.seq, last.id, last.ts),
            )
    with engine.begin() as conn:
        command.upgrade(_alembic(conn), "0006")
    engine.dispose()
    with sqlite3.connect(data / DB_FILE) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
        assert "prev" not in columns and "ts" not in columns
        rows = db.execute("SELECT ts, author, seq, room FROM messages ORDER BY 1, 2, 3").fetchall()
    # Every row was copied.
    assert rows == sorted((e.ts, e.author, e.seq, e.body["room"]) for e in events)
    store = Store.open(data)
    try:
        log = chat_log(store)
        assert sorted((m.id, m.text, m.room) for m in log) == sorted(
            (e.id, e.body["text"], e.body["room"]) for e in events
        )
        assert chat_log(store, "old", limit=1)[0].id == events[2].id
        assert store.event_by_id(events[1].id) == events[1]
    finally:
        store.close()
