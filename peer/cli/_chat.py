"""``peerclass chat send`` and ``chat log``."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

from nacl.signing import SigningKey

from peer.cli._core import open_peer, resolve_peer
from peer.cli._output import iso_from_ts, local_time_ts, safe_line
from peer.cli._paging import add_paging_args, paging_of
from peer.errors import UsageError, ValidationError
from peer.log import MAX_CHAT_TEXT, check_room, seal, unseal
from storage import ClassNames
from storage.queries import ChatMessage, iter_chat_log


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


def cmd_send(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        body: dict[str, Any] = {"room": check_room(args.room)}
        if not args.text.strip():
            raise UsageError("chat text is empty")
        if len(args.text) > MAX_CHAT_TEXT:
            raise UsageError(f"chat text is {len(args.text)} characters; limit {MAX_CHAT_TEXT}")
        if args.to is None:
            body["text"] = args.text
        else:
            recipient = resolve_peer(store, args.to)
            if recipient == membership.peer_id:
                raise UsageError("--to names yourself; private messages are for someone else")
            body.update(to=recipient, sealed=seal(membership.signing_key, recipient, args.text))
        try:
            event = store.append(membership.signing_key, "chat", body)
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.close()
    print(event.id.hex())
    return 0


def readable(
    messages: Iterable[ChatMessage], reader: SigningKey
) -> Iterator[tuple[ChatMessage, str]]:
    """The messages ``reader`` may see, with their text: every public one, and the private
    ones it sent or received (others' private messages are left out entirely)."""
    for m in messages:
        if m.recipient is None:
            yield m, m.text
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
        messages = readable(found, membership.signing_key)
        if args.json:
            print_json_rows(_json_row(m, text) for m, text in messages)
        else:
            names = store.names()
            for m, text in messages:
                print(_text_line(m, text, names))
    finally:
        store.close()
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
    return row


def _text_line(m: ChatMessage, text: str, names: ClassNames) -> str:
    when = local_time_ts(m.ts)
    to = "" if m.recipient is None else f" -> {names.label(m.recipient)} (private)"
    who = names.label(m.author)  # the roster's name (issue 18), never a profile's claim
    line = f"{when} [{m.room}] {who} ({m.author.hex()[:8]}){to}: {text}"
    return safe_line(line)


def print_json_rows(rows: Iterable[dict[str, Any]]) -> None:
    """A JSON array, written a row at a time: the same bytes as ``print_json(list(rows))``
    without holding the list."""
    first = True
    for row in rows:
        sys.stdout.write("[\n" if first else ",\n")
        sys.stdout.write(textwrap.indent(json.dumps(row, indent=2, ensure_ascii=False), "  "))
        first = False
    sys.stdout.write("[]\n" if first else "\n]\n")
