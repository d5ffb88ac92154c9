"""``peerclass chat``: send, log, search, and one's own messages edited, deleted or announced.

Typed text (arguments, the console) is normalised (``\\r\\n`` and ``\\r`` become ``\\n``)
before it is signed. Messages are named by their id; ``chat log`` and ``chat search`` show
the first 8 hex digits of each, and every command taking an id accepts any unique prefix.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

from nacl.signing import SigningKey

from peer.cli._core import open_peer, resolve_peer
from peer.cli._message_text import message_lines, short_message_id
from peer.cli._output import iso_from_ts, local_time_ts
from peer.cli._paging import add_paging_args, limit_arg, paging_of
from peer.errors import UsageError, ValidationError
from peer.identity import Membership
from peer.log import MAX_CHAT_TEXT, check_room, normalize_newlines, seal, unseal
from storage import ClassNames, Store
from storage.queries import (
    ChatMessage,
    iter_chat_log,
    may_announce,
    message_revisions,
    messages_by_id,
    search_chat,
)


def add_commands(sub: Any) -> None:
    chat = sub.add_parser("chat", help="send and read chat")
    chat_sub = chat.add_subparsers(dest="chat_command", required=True, parser_class=type(chat))
    send = chat_sub.add_parser("send", help="send a chat message")
    send.add_argument("--room", default="general")
    send.add_argument(
        "--to",
        metavar="PEER_ID_OR_NAME",
        help="a private message: sealed so only that peer (and you) can read it",
    )
    send.add_argument("text", help="the message")
    send.set_defaults(handler=cmd_send)
    log = chat_sub.add_parser("log", help="show the chat history")
    log.add_argument("--room", default=None, help="only this room (default: all rooms)")
    add_paging_args(log, "messages")
    log.add_argument("--json", action="store_true")
    log.set_defaults(handler=cmd_log)
    search = chat_sub.add_parser(
        "search", help="find messages by their words (every word must occur; Korean too)"
    )
    search.add_argument("text", help="the words to find")
    search.add_argument("--room", default=None, help="only this room (default: all rooms)")
    search.add_argument(
        "--limit", type=limit_arg, default=50, metavar="N", help="at most N, newest first"
    )
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=cmd_search)
    edit = chat_sub.add_parser("edit", help="replace the text of one of your messages")
    edit.add_argument("message_id", metavar="MESSAGE_ID", help="its id (a unique prefix will do)")
    edit.add_argument("text", help="the new text")
    edit.set_defaults(handler=cmd_edit)
    delete = chat_sub.add_parser("delete", help="delete one of your messages")
    delete.add_argument("message_id", metavar="MESSAGE_ID", help="its id (a unique prefix will do)")
    delete.set_defaults(handler=cmd_delete)
    announce = chat_sub.add_parser(
        "announce", help="an announcement, pinned for everyone until they dismiss it (instructor)"
    )
    announce.add_argument("text", help="the announcement")
    announce.add_argument("--room", default="general")
    announce.set_defaults(handler=cmd_announce)
    history = chat_sub.add_parser(
        "history", help="every version of a message (its author and instructors only)"
    )
    history.add_argument(
        "message_id", metavar="MESSAGE_ID", help="its id (a unique prefix will do)"
    )
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=cmd_history)


def chat_text(typed: str, what: str = "chat text") -> str:
    """Typed text as it is signed: line breaks normalised, not empty, within the limit."""
    text = normalize_newlines(typed)
    if not text.strip():
        raise UsageError(f"{what} is empty")
    if len(text) > MAX_CHAT_TEXT:
        raise UsageError(f"{what} is {len(text)} characters; limit {MAX_CHAT_TEXT}")
    return text


def _author(store: Store, me: Membership, kind: str, body: dict[str, Any]) -> str:
    """Sign and save one event; a body the schema refuses is the user's error, one line."""
    try:
        event = store.append(me.signing_key, kind, body)
    except ValidationError as exc:
        raise UsageError(str(exc)) from None
    return event.id.hex()


def cmd_send(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        body: dict[str, Any] = {"room": check_room(args.room)}
        text = chat_text(args.text)
        if args.to is None:
            body["text"] = text
        else:
            recipient = resolve_peer(store, args.to)
            if recipient == membership.peer_id:
                raise UsageError("--to names yourself; private messages are for someone else")
            body.update(to=recipient, sealed=seal(membership.signing_key, recipient, text))
        event_id = _author(store, membership, "chat", body)
    finally:
        store.close()
    print(event_id)
    return 0


def own_message(store: Store, me: Membership, prefix: str, doing: str) -> ChatMessage:
    """The message an id prefix names, if it is this peer's own and not deleted."""
    message_id = store.resolve_prefix(prefix, kind="chat")
    found = messages_by_id(store, [message_id])
    if not found:
        raise UsageError(f"no chat message has an id starting with {prefix}")
    message = found[0]
    if message.author != me.peer_id:
        raise UsageError(f"message {prefix} is not yours: only its author may {doing} it")
    if message.deleted:
        raise UsageError(f"message {prefix} is deleted")
    return message


def cmd_edit(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        message = own_message(store, membership, args.message_id, "edit")
        text = chat_text(args.text)
        body: dict[str, Any] = {"target": message.id}
        if message.recipient is None:
            body["text"] = text
        else:  # still sealed to the same recipient
            sealed = seal(membership.signing_key, message.recipient, text)
            body.update(to=message.recipient, sealed=sealed)
        event_id = _author(store, membership, "edit", body)
    finally:
        store.close()
    print(event_id)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        message = own_message(store, membership, args.message_id, "delete")
        event_id = _author(store, membership, "delete", {"target": message.id})
    finally:
        store.close()
    print(event_id)
    return 0


def cmd_announce(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        room = check_room(args.room)
        text = chat_text(args.text, "the announcement")
        if not may_announce(store, membership.peer_id):
            raise UsageError("only an instructor on the class roster may announce")
        body = {"room": room, "text": text, "announcement": True}
        event_id = _author(store, membership, "chat", body)
    finally:
        store.close()
    print(event_id)
    return 0


def readable(
    messages: Iterable[ChatMessage], reader: SigningKey
) -> Iterator[tuple[ChatMessage, str]]:
    """The messages ``reader`` may see, with their text: every public one, and the private
    ones it sent or received (others' private messages are left out entirely); a deleted
    message has no text."""
    me = bytes(reader.verify_key)
    for m in messages:
        if m.recipient is None:
            yield m, m.text
        elif m.deleted:
            if me in (m.author, m.recipient):
                yield m, ""
        elif m.sealed is not None:
            text = unseal(reader, m.author, m.recipient, m.sealed)
            if text is not None:
                yield m, text


def cmd_log(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        room = None if args.room is None else check_room(args.room)
        page = paging_of(args, store, "chat")
        found = iter_chat_log(
            store, room, page.limit, before=page.before, since=page.since, reader=membership.peer_id
        )
        _print_messages(store, readable(found, membership.signing_key), as_json=args.json)
    finally:
        store.close()
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        room = None if args.room is None else check_room(args.room)
        found = search_chat(
            store,
            normalize_newlines(args.text),
            room=room,
            limit=args.limit,
            reader=membership.peer_id,
        )
        _print_messages(store, readable(found, membership.signing_key), as_json=args.json)
    finally:
        store.close()
    return 0


def _print_messages(
    store: Store, messages: Iterable[tuple[ChatMessage, str]], *, as_json: bool
) -> None:
    if as_json:
        print_json_rows(_json_row(m, text) for m, text in messages)
        return
    names = store.names()
    for m, text in messages:
        print(_text_lines(m, text, names))


def cmd_history(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        message_id = store.resolve_prefix(args.message_id, kind="chat")
        revisions = message_revisions(store, message_id, membership.peer_id)
        original = store.event_by_id(message_id)
    finally:
        store.close()
    assert original is not None  # message_revisions found it
    recipient = original.body.get("to")
    rows = []
    for r in revisions:
        text = r.text
        if r.sealed is not None and recipient is not None:
            text = unseal(membership.signing_key, original.author, recipient, r.sealed) or ""
        rows.append((r, text))
    if args.json:
        print_json_rows(
            {"id": r.id.hex(), "action": r.action, "ts": iso_from_ts(r.ts), "text": text}
            for r, text in rows
        )
        return 0
    for r, text in rows:
        heading = f"{short_message_id(r.id)}  {local_time_ts(r.ts)} {r.action}"
        print(message_lines(heading + (": " if r.action != "delete" else ""), text))
    return 0


def _json_row(m: ChatMessage, text: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": m.id.hex(),
        "author": m.author.hex(),
        "author_name": m.author_name,
        "room": m.room,
        "text": text,
        "ts": iso_from_ts(m.ts),
        "seq": m.seq,
    }
    if m.recipient is not None:
        row["to"] = m.recipient.hex()
    for flag in ("edited", "deleted", "announcement"):
        if getattr(m, flag):
            row[flag] = True
    return row


def _text_lines(m: ChatMessage, text: str, names: ClassNames) -> str:
    """``ID  TIME [ROOM] NAME (AUTHOR): TEXT``, marked edited, deleted or an announcement;
    further lines of the text indented below."""
    when = local_time_ts(m.ts)
    to = "" if m.recipient is None else f" -> {names.label(m.recipient)} (private)"
    who = names.label(m.author)  # the roster's name, never a profile's claim
    kind = " [announcement]" if m.announcement else ""
    heading = (
        f"{short_message_id(m.id)}  {when} [{m.room}]{kind} {who} ({m.author.hex()[:8]}){to}: "
    )
    if m.deleted:
        return message_lines(heading, "(deleted)")
    return message_lines(heading, text + (" (edited)" if m.edited else ""))


def print_json_rows(rows: Iterable[dict[str, Any]]) -> None:
    """A JSON array, written a row at a time: the same bytes as ``print_json(list(rows))``
    without holding the list."""
    first = True
    for row in rows:
        sys.stdout.write("[\n" if first else ",\n")
        sys.stdout.write(textwrap.indent(json.dumps(row, indent=2, ensure_ascii=False), "  "))
        first = False
    sys.stdout.write("[]\n" if first else "\n]\n")
