"""``peerclass chat send`` and ``chat log``."""

from __future__ import annotations

import argparse
from typing import Any

from peer.commands_core import open_peer
from peer.errors import UsageError, ValidationError
from peer.kinds import check_room
from peer.output import iso_from_ts, print_json
from storage.chat import chat_log


def add_commands(sub: Any) -> None:
    chat = sub.add_parser("chat", help="send and read chat")
    chat_sub = chat.add_subparsers(dest="chat_command", required=True, parser_class=type(chat))
    send = chat_sub.add_parser("send", help="send a chat message")
    send.add_argument("--room", default="general")
    send.add_argument("text", help="the message")
    send.set_defaults(handler=cmd_send)
    log = chat_sub.add_parser("log", help="show the chat history")
    log.add_argument("--room", default=None, help="only this room (default: all rooms)")
    log.add_argument("--json", action="store_true")
    log.set_defaults(handler=cmd_log)


def cmd_send(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        body = {"room": check_room(args.room), "text": args.text}
        try:
            event = store.append(membership.signing_key, "chat", body)
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.close()
    print(event.id.hex())
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    _membership, store = open_peer(args.data_dir)
    try:
        room = None if args.room is None else check_room(args.room)
        messages = chat_log(store, room)
    finally:
        store.close()
    if args.json:
        print_json(
            [
                {
                    "id": m.id.hex(),
                    "author": m.author.hex(),
                    "author_name": m.author_name,
                    "room": m.room,
                    "text": m.text,
                    "ts": iso_from_ts(m.ts),
                    "seq": m.seq,
                }
                for m in messages
            ]
        )
        return 0
    for m in messages:
        when = (iso_from_ts(m.ts) or "")[:19].replace("T", " ")
        print(f"{when} [{m.room}] {m.author_name or '?'} ({m.author.hex()[:8]}): {m.text}")
    return 0
