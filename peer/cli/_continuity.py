"""Nothing is lost when a laptop is (issue 22): ``backup``, ``restore``, ``verify`` and
``reseal``, and the replacement of a lost key (``admit NEW --replaces OLD``).

A backup holds the identity, the class file and the content keys (with ``--with-history``
the whole store's events too), sealed with a passphrase. Restoring builds the new data dir
beside its target and moves it into place only once everything is in it, so a failure leaves
no half-made dir. What the restored peer lacks it fetches from any classmate when it runs.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.signing

from peer.cli._core import open_peer
from peer.cli._output import safe_line
from peer.cli._restoring import (
    build_data_dir,
    check_target,
    class_fields,
    class_info,
    restore_identity_only,
)
from peer.continuity import KDF_LIMITS, Backup, open_backup, seal_backup, seed_from_phrase
from peer.errors import UsageError, ValidationError
from peer.identity import (
    Membership,
    parse_invite,
    short_id,
)
from peer.log import seal_key
from storage import Store
from storage.queries import RosterEntry, persons, reseal_items, roster_entries

ENV_PASSPHRASE = "PEERCLASS_PASSPHRASE"
#: How many events a restore hands the store at once (one transaction each).


def add_commands(sub: Any) -> None:
    backup = sub.add_parser(
        "backup", help="write this peer's identity, class and keys to a passphrase-sealed file"
    )
    backup.add_argument("-o", "--output", required=True, type=Path, metavar="FILE")
    backup.add_argument(
        "--with-history", action="store_true", help="include every stored event as well"
    )
    _passphrase_args(backup)
    backup.add_argument(
        "--kdf",
        choices=sorted(KDF_LIMITS),
        default="moderate",
        help="how costly guessing the passphrase is made (Argon2id limits; default moderate)",
    )
    backup.set_defaults(handler=cmd_backup)

    restore = sub.add_parser("restore", help="bring an identity back from a backup or phrase")
    restore.add_argument("file", nargs="?", type=Path, metavar="FILE")
    restore.add_argument("--phrase", help="the 24-word recovery phrase instead of a backup file")
    restore.add_argument(
        "--invite", help="with --phrase: the class invite (any classmate's 'peerclass invite')"
    )
    restore.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,  # as the issue spells it; the global --data-dir works too
        help="the new data dir to restore into",
    )
    _passphrase_args(restore)
    restore.set_defaults(handler=cmd_restore)

    verify = sub.add_parser("verify", help="check the data dir (and --repair what is damaged)")
    verify.add_argument(
        "--repair",
        action="store_true",
        help="rebuild the projections and drop damaged events, fetched again at the next sync",
    )
    verify.set_defaults(handler=cmd_verify)

    reseal = sub.add_parser(
        "reseal", help="share with a student's new key what was sealed to its old one"
    )
    reseal.add_argument("student", metavar="STUDENT")
    reseal.set_defaults(handler=cmd_reseal)


def _passphrase_args(parser: Any) -> None:
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help=f"read the passphrase from FILE's first line (or set ${ENV_PASSPHRASE})",
    )


def _passphrase(args: argparse.Namespace, *, confirm: bool) -> str:
    """From ``--passphrase-file``, the environment, or the terminal (asked twice when new)."""
    if args.passphrase_file is not None:
        try:
            lines = args.passphrase_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the passphrase file: {exc}") from None
        text = lines[0] if lines else ""
    elif os.environ.get(ENV_PASSPHRASE):
        text = os.environ[ENV_PASSPHRASE]
    elif sys.stdin.isatty():
        text = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Passphrase again: ") != text:
            raise UsageError("the two passphrases differ; nothing was written")
    else:
        raise UsageError(
            f"no passphrase: give --passphrase-file FILE or set {ENV_PASSPHRASE} "
            "(there is no terminal to ask on)"
        )
    if not text:
        raise UsageError("the passphrase is empty")
    return text


# ---- backup -------------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> int:
    out: Path = args.output
    if out.exists():
        raise UsageError(f"{out} already exists; nothing was written")
    membership, store = open_peer(args.data_dir)
    try:
        keys, made = store.local_secrets()
        history = tuple(store.history()) if args.with_history else None
    finally:
        store.close()
    passphrase = _passphrase(args, confirm=True)
    backup = Backup(
        bytes(membership.signing_key),
        class_fields(membership.klass),
        tuple(keys),
        tuple(made),
        history,
    )
    data = seal_backup(backup, passphrase, kdf=args.kdf)
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    what = f"{len(keys)} content keys" + ("" if history is None else f", {len(history)} events")
    print(
        f"backup of {short_id(membership.peer_id)} in class {membership.klass.name!r} written "
        f"to {out} (identity, class, {what}); keep the file and its passphrase apart"
    )
    return 0


# ---- restore ------------------------------------------------------------------------------


def cmd_restore(args: argparse.Namespace) -> int:
    target: Path = args.data_dir
    if (args.file is None) == (args.phrase is None):
        raise UsageError("give a backup FILE or --phrase WORDS (one of them)")
    if args.phrase is not None:
        seed = seed_from_phrase(args.phrase)
        if not args.invite:
            return restore_identity_only(target, seed)
        klass = class_fields(parse_invite(args.invite)[0])
        backup = Backup(seed, klass)
    else:
        try:
            data = args.file.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        backup = open_backup(data, _passphrase(args, confirm=False))
    klass_info = class_info(backup.klass)
    check_target(target, klass_info)
    membership = Membership(nacl.signing.SigningKey(backup.seed), klass_info)
    events = build_data_dir(target, membership, backup)
    print(
        f"restored {short_id(membership.peer_id)} of class {klass_info.name!r} into {target}"
        + (f" with {events} events" if backup.history is not None else "")
        + "; run 'peerclass run' to fetch the rest of the history from classmates"
    )
    return 0


# ---- verify -------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from storage._store import DB_FILE

    if not (args.data_dir / DB_FILE).exists():
        raise UsageError(f"no store in {args.data_dir}; nothing to verify")
    store = Store.open(args.data_dir)
    try:
        report = store.verify()
        for line in report.lines:
            print(safe_line(line))
        if not report.lines:
            print(f"ok: {report.events} events, their signatures and chains, and the projections")
            return 0
        if not args.repair:
            print(f"{len(report.lines)} problems; 'peerclass verify --repair' mends what it can")
            return 1
        store.repair(report)
        after = store.verify()
    finally:
        store.close()
    dropped = len(report.damaged)
    print(
        f"repaired: projections rebuilt; {dropped} damaged logs cut back to their last sound "
        "event (the rest is fetched again from classmates at the next sync)"
    )
    for line in after.lines:
        print(safe_line(f"still wrong: {line}"))
    return 1 if after.lines else 0


# ---- a lost key ---------------------------------------------------------------------------


def replace_identity(
    args: argparse.Namespace, pin: Callable[[Store, bytes], dict[str, Any]]
) -> int:
    """``admit NEW --replaces OLD``: admit NEW as the person OLD was (same name and role,
    ``replaces`` naming OLD) and remove OLD as ``remove`` does (``pin`` gives the removal's
    ``until``), in one durable write."""
    membership, store = open_peer(args.data_dir)
    try:
        if not membership.is_instructor:
            raise UsageError("only the instructor (or a co-instructor) can replace a key")
        entries = roster_entries(store, membership.klass.instructor)
        new, old = find_roster_entry(entries, args.who), find_roster_entry(entries, args.replaces)
        if old.peer_id == new.peer_id:
            raise UsageError("an identity cannot replace itself")
        if membership.klass.instructor in (old.peer_id, new.peer_id):
            raise UsageError("the founding instructor's key cannot be replaced")
        if new.state == "member":
            raise UsageError(f"{new.name} ({short_id(new.peer_id)}) is already a member")
        name = (args.name or old.name).strip()
        admit = {"action": "admit", "peer": new.peer_id, "name": name, "role": old.role}
        admit |= _following(new) | {"replaces": old.peer_id}
        items = [("roster", admit)]
        if old.state != "removed":
            remove = {"action": "remove", "peer": old.peer_id} | _following(old)
            items.append(("roster", remove | {"until": pin(store, old.peer_id)}))
        try:
            store.append_many(membership.signing_key, items)
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.close()
    print(
        f"admitted {safe_line(name)} ({short_id(new.peer_id)}) in place of "
        f"{short_id(old.peer_id)}, which is removed; 'peerclass reseal {short_id(new.peer_id)}' "
        "shares their earlier work with the new key"
    )
    return 0


def _following(entry: RosterEntry) -> dict[str, Any]:
    return {} if entry.event is None else {"after": entry.event}


def find_roster_entry(entries: list[RosterEntry], text: str) -> RosterEntry:
    """The entry named ``text`` (any case) or whose id starts with it: exactly one."""
    wanted = text.strip().casefold()
    found = [e for e in entries if e.name.casefold() == wanted]
    if len(wanted) >= 4 and all(c in "0123456789abcdef" for c in wanted):
        found += [e for e in entries if e.peer_id.hex().startswith(wanted) and e not in found]
    if not found:
        raise UsageError(f"nobody in the roster is named {text!r} or has an id starting with it")
    if len(found) > 1:
        raise UsageError(f"{text!r} matches {len(found)} identities: give more of the id")
    return found[0]


def cmd_reseal(args: argparse.Namespace) -> int:
    membership, store = open_peer(args.data_dir)
    try:
        if not membership.is_instructor:
            raise UsageError("only the instructor (or a co-instructor) can reseal")
        instructor = membership.klass.instructor
        entries = [e for e in roster_entries(store, instructor) if e.state == "member"]
        person = persons(store, instructor).of(find_roster_entry(entries, args.student).peer_id)
        items = [
            ("share", {"event": event_id, "to": person, "key": seal_key(key, person)})
            for event_id, key in reseal_items(store, person, instructor)
        ]
        if items:
            store.append_many(membership.signing_key, items)
    finally:
        store.close()
    print(f"resealed {len(items)} submissions and verdicts to {short_id(person)}")
    return 0
