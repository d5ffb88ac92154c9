"""The class roster commands: ``invite``, ``admit``, ``remove``, ``roster`` (what the running
peer does by itself is in ``peer.cli._membership``)."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any

from peer.cli._continuity import find_roster_entry, replace_identity
from peer.cli._core import open_peer
from peer.cli._output import print_json, print_table, safe_line
from peer.errors import UsageError, ValidationError
from peer.identity import MAX_INVITE_ADDRESSES, Membership, check_address, short_id
from peer.log import TOKEN_SIZE, validate_body
from storage import Store
from storage.queries import RosterEntry, roster_entries, token_hash


def add_commands(sub: Any) -> None:
    invite = sub.add_parser("invite", help="print an invite string for the class")
    kind = invite.add_mutually_exclusive_group()
    kind.add_argument(
        "--for",
        dest="for_name",
        metavar="NAME",
        help="a one-student invite: its first joiner is admitted as NAME",
    )
    kind.add_argument(
        "--open",
        action="store_true",
        help="the reusable class invite (the default): joiners wait as pending until admitted",
    )
    kind.add_argument(
        "--revoke-open",
        action="store_true",
        help="replace the class invite with a new one: joins with the old one are refused",
    )
    invite.set_defaults(handler=cmd_invite)

    admit = sub.add_parser("admit", help="admit a pending identity to the roster (instructor)")
    admit.add_argument("who", metavar="NAME_OR_ID")
    admit.add_argument("--name", help="the name to admit it under (default: the one it asked)")
    admit.add_argument(
        "--role",
        choices=["student", "ta", "instructor"],
        default=None,
        help="student (default), ta, or instructor (a co-instructor with the same authority)",
    )
    admit.add_argument(
        "--replaces",
        metavar="OLD",
        help="a student's new identity in place of OLD (a lost key): OLD is removed, and "
        "reports count both histories as one student's",
    )
    admit.set_defaults(handler=cmd_admit)

    remove = sub.add_parser("remove", help="remove someone from the roster (instructor)")
    remove.add_argument("who", metavar="NAME_OR_ID")
    remove.set_defaults(handler=cmd_remove)

    roster = sub.add_parser("roster", help="list the class roster")
    roster.add_argument("--json", action="store_true")
    roster.set_defaults(handler=cmd_roster)


# ---- commands ---------------------------------------------------------------------------


def cmd_invite(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        if args.revoke_open:
            if not membership.is_founder:
                raise UsageError("only the founding instructor can replace the class invite")
            token = secrets.token_bytes(TOKEN_SIZE)
            store.replace_open_invite(token)
            print(membership.klass.invite(token, addresses=last_addresses(store)))
            print(
                "the old class invite is revoked: its joiners are refused once the "
                "instructor's peer runs",
                file=sys.stderr,
            )
            return 0
        if args.for_name is None:
            print(
                membership.klass.invite(store.open_invite_token(), addresses=last_addresses(store))
            )
            return 0
        if not membership.is_founder:
            # The joiner seals its token to the class key (the invite's): only its peer opens it.
            raise UsageError(
                "only the founding instructor makes one-student invites; "
                "give the class invite and 'peerclass admit NAME' the joiner"
            )
        name = args.for_name.strip()
        try:
            validate_body("join", {"name": name})
        except ValidationError as exc:
            raise UsageError(f"--for: {exc}") from None
        token = secrets.token_bytes(TOKEN_SIZE)
        store.record_invite(token_hash(token), name)
        addresses = last_addresses(store)
    finally:
        store.close()
    print(membership.klass.invite(token, name, addresses))
    return 0


def last_addresses(store: Store) -> tuple[tuple[str, int], ...]:
    """Where this peer last listened, as its running node recorded it (issue 21): the invite
    carries them, so a student who hears no beacon dials the instructor directly."""
    text = store.reach()
    try:
        listen = json.loads(text)["listen"] if text else []
        found = []
        for entry in listen[:MAX_INVITE_ADDRESSES]:
            host, _, port = str(entry).rpartition(":")
            found.append(check_address(host.strip("[]"), int(port)))
    except (ValueError, KeyError, TypeError, UsageError):
        return ()  # no usable record: the invite works without addresses
    return tuple(found)


def _entries(store: Store, me: Membership) -> list[RosterEntry]:
    return roster_entries(store, me.klass.instructor)


def _instructor_only(me: Membership, what: str) -> None:
    if not me.is_instructor:
        raise UsageError(f"only the instructor (or a co-instructor) can {what}")


def _following(entry: RosterEntry) -> dict[str, Any]:
    """The ``after`` field: the entry on that peer this instructor's store holds as current,
    so a later entry of another instructor is known to follow it (DESIGN §10)."""
    return {} if entry.event is None else {"after": entry.event}


def cmd_admit(args: argparse.Namespace) -> int:
    if args.replaces is not None:
        return replace_identity(args, removal_pin)
    membership, store = open_peer(args.data_dir)
    try:
        _instructor_only(membership, "admit")
        entry = find_roster_entry(_entries(store, membership), args.who)
        role = args.role or (entry.role if entry.state == "member" else "student")
        if entry.peer_id == membership.klass.instructor:
            raise UsageError("the founding instructor's role cannot be changed")
        if entry.state == "member" and role == entry.role and args.name is None:
            raise UsageError(f"{entry.name} ({short_id(entry.peer_id)}) is already a member")
        name = (args.name or entry.name).strip()
        body = {"action": "admit", "peer": entry.peer_id, "name": name, "role": role}
        body |= _following(entry)
        try:
            store.append(membership.signing_key, "roster", body)
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.close()
    print(f"admitted {safe_line(name)} ({short_id(entry.peer_id)}) as {role}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        _instructor_only(membership, "remove anyone")
        entry = find_roster_entry(_entries(store, membership), args.who)
        if entry.peer_id == membership.klass.instructor:
            raise UsageError(
                "the founding instructor's key is the class's authority and cannot be removed"
            )
        if entry.state == "removed":
            raise UsageError(f"{entry.name} ({short_id(entry.peer_id)}) is already removed")
        body = {"action": "remove", "peer": entry.peer_id} | _following(entry)
        body["until"] = removal_pin(store, entry.peer_id)
        store.append(membership.signing_key, "roster", body)
    finally:
        store.close()
    print(f"removed {safe_line(entry.name)} ({short_id(entry.peer_id)})")
    return 0


def removal_pin(store: Store, peer_id: bytes) -> dict[str, Any]:
    """The ``until`` of a removal (issue 18): the removed author's head as this store holds
    it; every peer ignores that author's events past it, whoever relays them."""
    held = store.vector().get(peer_id)
    return {"seq": 0} if held is None else {"seq": held[0], "id": held[1]}


def cmd_roster(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        entries = _entries(store, membership)
    finally:
        store.close()
    rows = [
        {"peer_id": e.peer_id.hex(), "name": e.name, "role": e.role, "state": e.state}
        for e in entries
    ]
    if args.json:
        print_json(rows)
        return 0
    print_table(
        ["PEER", "NAME", "ROLE", "STATE"],
        [[r["peer_id"][:8], r["name"], r["role"], r["state"]] for r in rows],
    )
    return 0
