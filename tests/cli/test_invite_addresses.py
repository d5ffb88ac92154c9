"""The invite's instructor addresses (issue 21): carried when known, bounded and validated,
and an invite without them (every invite made before) still works."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from peer.errors import UsageError
from peer.identity import (
    CLASS_FILE,
    INVITE_PREFIX,
    MAX_INVITE_ADDRESSES,
    ClassInfo,
    load_membership,
    parse_invite,
)
from peer.log import pack
from tests.helpers import make_class, pc, pc_ok

KLASS = ClassInfo(b"i" * 16, "Algorithms", b"s" * 32, b"k" * 32)


def invite_of(fields: list[object]) -> str:
    payload = pack(fields)
    check = hashlib.blake2b(payload, digest_size=4).digest()
    return INVITE_PREFIX + base64.urlsafe_b64encode(payload + check).decode().rstrip("=")


def test_an_invite_without_addresses_is_as_before() -> None:
    old = invite_of([1, KLASS.class_id, KLASS.name, KLASS.secret, KLASS.instructor])
    assert KLASS.invite() == old
    klass, token = parse_invite(old)
    assert klass == KLASS and klass.addresses == () and token is None


def test_class_and_one_student_invites_carry_addresses_and_the_token() -> None:
    addresses = (("192.168.1.20", 47000), ("teacher.local", 47000), ("fd00::5", 47000))
    klass, token = parse_invite(KLASS.invite(addresses=addresses))
    assert klass == KLASS and klass.addresses == addresses and token is None
    klass, token = parse_invite(KLASS.invite(b"t" * 16, "Ana", addresses))
    assert klass.addresses == addresses and token == b"t" * 16


def test_an_invite_keeps_at_most_the_bound_of_addresses() -> None:
    many = [(f"10.0.0.{i}", 4000) for i in range(MAX_INVITE_ADDRESSES + 3)]
    assert len(parse_invite(KLASS.invite(addresses=many))[0].addresses) == MAX_INVITE_ADDRESSES


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        ([["10.0.0.1", 0]], "out of range"),
        ([["bad host!", 4000]], "not an IP address or host name"),
        ([["10.0.0.1"]], "malformed"),
        ([["10.0.0.1", 1]] * (MAX_INVITE_ADDRESSES + 1), "malformed"),
        ("10.0.0.1:4000", "malformed"),
    ],
)
def test_malformed_addresses_make_a_clear_error(addresses: object, reason: str) -> None:
    fields = [1, KLASS.class_id, KLASS.name, KLASS.secret, KLASS.instructor, addresses]
    with pytest.raises(UsageError, match=reason):
        parse_invite(invite_of(fields))


def test_init_keeps_the_addresses_and_a_damaged_class_file_says_so(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, students=0)
    klass = load_membership(dirs.instructor).klass
    invite = klass.invite(addresses=[("127.0.0.1", 4100)])
    student = tmp_path / "s"
    pc_ok(student, "init", "--name", "Bo", "--invite", invite)
    assert load_membership(student).klass.addresses == (("127.0.0.1", 4100),)
    path = student / CLASS_FILE
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "addresses": ["nowhere:99999"]}))
    result = pc(student, "status")
    assert result.code == 1
    assert "class.json is missing or damaged" in result.err
    assert "Traceback" not in result.err
