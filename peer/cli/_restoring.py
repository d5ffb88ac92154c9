"""Building a data dir from a restored identity (issue 22), shared by ``restore`` and by
``init --invite`` when the data dir holds an identity restored from its phrase alone.

A restored identity has a log on other peers already: it must never sign again from seq 1
(that forks its log), so both ways in build the data dir without writing an event and let
the running peer fetch the history from classmates.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import nacl.signing

from peer.continuity import Backup
from peer.errors import UsageError
from peer.identity import (
    PHRASE_RESTORED,
    ClassInfo,
    Membership,
    has_identity,
    load_membership,
    parse_invite,
    save_membership,
    short_id,
)
from storage import Store

_BATCH = 1000


def class_fields(klass: ClassInfo) -> dict[str, str]:
    return {
        "class_id": klass.class_id.hex(),
        "name": klass.name,
        "secret": klass.secret.hex(),
        "instructor": klass.instructor.hex(),
    }


def restore_identity_only(target: Path, seed: bytes) -> int:
    """A phrase holds the identity, not the class: keep the key (0600, nothing signed with it
    here) and let ``init --invite`` put it in its class later, through the same restore path,
    so that the restored identity never writes its log again from seq 1 (a fork)."""
    if has_identity(target) or (target / PHRASE_RESTORED).exists():
        raise UsageError(f"{target} already has an identity; nothing was changed")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} is not empty; restore into a new data dir")
    key = nacl.signing.SigningKey(seed)
    try:
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(target / PHRASE_RESTORED, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(key))
    except OSError as exc:
        raise UsageError(f"cannot write into {target}: {exc.strerror or exc}") from None
    print(
        f"restored identity {short_id(bytes(key.verify_key))} into {target}; it is in no class "
        "yet: run 'peerclass init --invite INVITE --name NAME' with this data dir (any "
        "classmate's 'peerclass invite' prints the invite), which keeps this identity"
    )
    return 0


def join_with_restored_identity(target: Path, invite: str) -> Membership | None:
    """For ``init --invite``: put an identity restored from its phrase alone into the
    invite's class (as ``restore --phrase --invite`` does); None when there is none."""
    marker = target / PHRASE_RESTORED
    try:
        seed = marker.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {marker}: {exc.strerror or exc}") from None
    if len(seed) != 32:
        raise UsageError(f"{marker} is damaged; restore from the phrase again")
    klass_info = class_info(class_fields(parse_invite(invite)[0]))
    marker.unlink()
    try:
        check_target(target, klass_info)
        membership = Membership(nacl.signing.SigningKey(seed), klass_info)
        build_data_dir(target, membership, Backup(seed, class_fields(parse_invite(invite)[0])))
    except BaseException:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(seed)
        raise
    return membership


def class_info(fields: dict[str, str]) -> ClassInfo:
    try:
        return ClassInfo(
            bytes.fromhex(fields["class_id"]),
            fields["name"],
            bytes.fromhex(fields["secret"]),
            bytes.fromhex(fields["instructor"]),
        )
    except (KeyError, ValueError):
        raise UsageError("the backup's class is malformed") from None


def check_target(target: Path, klass: ClassInfo) -> None:
    """A new or empty dir only; a dir of another class (or this one) says so."""
    if has_identity(target):
        try:
            held = load_membership(target).klass
        except UsageError:
            held = None
        if held is not None and held.class_id != klass.class_id:
            raise UsageError(
                f"{target} belongs to class {held.name!r} ({held.class_id.hex()[:8]}); this "
                f"backup is of class {klass.name!r} ({klass.class_id.hex()[:8]}); "
                "nothing was changed"
            )
        raise UsageError(f"{target} already has an identity; nothing was changed")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} is not empty; restore into a new data dir")


def build_data_dir(target: Path, membership: Membership, backup: Backup) -> int:
    """Make the data dir beside ``target`` and move it into place once it is whole."""
    parent = target.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        building = parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
        building.mkdir(mode=0o700)
    except OSError as exc:
        raise UsageError(f"cannot create {target}: {exc.strerror or exc}") from None
    try:
        save_membership(building, membership)
        store = Store.open(building)
        try:
            store.restore_secrets(backup.content_keys, backup.invites)
            events = _ingest(store, backup.history or ())
        finally:
            store.close()
        if target.exists():
            target.rmdir()  # checked empty above
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return events


def _ingest(store: Store, history: tuple[bytes, ...]) -> int:
    stored = 0
    for start in range(0, len(history), _BATCH):
        result = store.ingest(history[start : start + _BATCH])
        if result.rejected:
            raise UsageError(f"the backup's history holds an invalid event: {result.rejected[0]}")
        stored += len(result.stored)
    return stored
