"""Finding chat messages by their words, Korean included, in what this peer can read.

The index is ``chat_search`` (FTS5, ``trigram`` tokenizer, kept by the chat projection): it
holds the newest text of every message this store's identity can read, so search never shows
a deleted message or a private one meant for someone else. Every word of the query must occur
in a message (as a substring, any case): a word of three or more characters is looked up in
the index (``LIKE``, which SQLite answers from the trigrams); a shorter one (Korean words are
often two syllables) is matched by scanning the index's stored text, since trigrams cannot
find it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from peer.errors import UsageError
from storage.queries._chat import ChatMessage, messages_by_id
from storage.schema import CHAT_SEARCH

if TYPE_CHECKING:
    from storage._store import Store

#: Words longer than this are refused: a query is typed by a person.
MAX_QUERY = 500
_LIKE_SPECIAL = re.compile(r"[%_\\]")


def search_chat(
    store: Store,
    text: str,
    *,
    room: str | None = None,
    limit: int = 50,
    reader: bytes | None = None,
) -> list[ChatMessage]:
    """Messages holding every word of ``text``, newest first, at most ``limit``; ``room``:
    only that room's (private messages sit in the room they were sent from). ``reader``:
    as for :func:`storage.queries.iter_chat_log` (the index already holds only what this
    store's identity reads). A query with no words is a UsageError."""
    words = text.split()
    if not words:
        raise UsageError("give some words to search for")
    if len(text) > MAX_QUERY:
        raise UsageError(f"the search is {len(text)} characters; the limit is {MAX_QUERY}")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    sql, params = _query(words, room, limit)
    with store.read() as conn:
        found = [row[0] for row in conn.exec_driver_sql(sql, tuple(params))]
    shown = messages_by_id(store, found, reader=reader)
    return sorted(shown, key=lambda m: m.key, reverse=True)


def _query(words: list[str], room: str | None, limit: int) -> tuple[str, list[Any]]:
    """The SQL and its parameters: each word a ``LIKE '%word%'`` on the index's text. A word
    of three or more characters, with no ``%`` or ``_`` in it, is found through the trigram
    index; a shorter one (or one needing an ``ESCAPE``, which the index does not take) is
    checked on the rows the others leave, or by a scan when it is alone."""
    conditions: list[str] = []
    params: list[Any] = []
    for word in words:
        if len(word) >= 3 and not _LIKE_SPECIAL.search(word):
            conditions.append("text LIKE ?")
            params.append(f"%{word}%")
        else:
            # instr finds what LIKE on a trigram table misses (short non-ASCII patterns in
            # SQLite 3.40); LIKE folds ASCII case.
            conditions.append("(text LIKE ? ESCAPE '\\' OR instr(text, ?) > 0)")
            params += [f"%{_escape_like(word)}%", word]
    if room is not None:
        conditions.append("room = ?")
        params.append(room)
    sql = (
        f"SELECT event_id FROM {CHAT_SEARCH} WHERE {' AND '.join(conditions)} "
        "ORDER BY ts DESC LIMIT ?"
    )
    return sql, [*params, limit]


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
