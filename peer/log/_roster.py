"""Body schemas of the membership kinds: ``roster``, ``join`` and ``share``.

``roster`` events only mean something when an instructor signs them (the store decides that,
since a schema sees the body alone): ``admit {peer, name, role}`` or ``remove {peer}``.
Either may name ``after``: the entry on that peer its author held as current, so another
instructor's later entry is known to follow it (DESIGN §10). A ``join`` is a newcomer's
request, carrying the admission token of a one-student invite sealed to the instructor. A
``share`` seals an existing content key to one more reader (peer review).
"""

from __future__ import annotations

from peer.errors import ValidationError
from peer.log._checks import MAX_NAME, ROLES, Body, check_id, check_keys, check_text
from peer.log._sealing import check_envelope, check_key_box

TOKEN_SIZE = 16
#: The hash of an admission token, named in the admit it led to (so it is used only once).
TOKEN_HASH_SIZE = 16
ROSTER_ACTIONS = ("admit", "remove")
#: Why a removal happened, in a few words the removed peer is shown (issue 18).
MAX_REASON = 200


def validate_roster(body: Body) -> None:
    action = body.get("action")
    if action == "admit":
        check_keys(
            "roster", body, {"action", "peer", "name", "role"}, {"invite", "after", "replaces"}
        )
        check_text("roster", body, "name", max_len=MAX_NAME, one_line=True)
        if body["role"] not in ROLES:
            raise ValidationError(f"roster role {body['role']!r} is not one of {', '.join(ROLES)}")
        invite = body.get("invite")
        if invite is not None and (not isinstance(invite, bytes) or len(invite) != TOKEN_HASH_SIZE):
            raise ValidationError(f"roster invite is not a {TOKEN_HASH_SIZE}-byte token hash")
    elif action == "remove":
        check_keys("roster", body, {"action", "peer"}, {"after", "until", "reason"})
        _check_until(body.get("until"))
        if "reason" in body:
            check_text("roster", body, "reason", max_len=MAX_REASON, one_line=True)
    else:
        raise ValidationError(f"roster action {action!r} is not one of {', '.join(ROSTER_ACTIONS)}")
    check_id("roster", body, "peer")
    check_id("roster", body, "after", optional=True)
    check_id("roster", body, "replaces", optional=True)  # issue 22: a lost key's successor


def _check_until(until: object) -> None:
    """A removal's pin (DESIGN §10): ``{"seq": n, "id": head}`` of the removed author's log as
    the remover held it (``{"seq": 0}`` where it held none). Removals signed before pins
    existed carry no ``until``."""
    if until is None:
        return
    if not isinstance(until, dict):
        raise ValidationError("roster until is not a map")
    seq = until.get("seq")
    if type(seq) is not int or not 0 <= seq <= 2**53:
        raise ValidationError("roster until seq is not a whole number")
    check_keys("roster until", until, {"seq", "id"} if seq else {"seq"}, set())
    if seq:
        check_id("roster until", until, "id")


def validate_join(body: Body) -> None:
    check_keys("join", body, {"name"}, {"sealed"})
    check_text("join", body, "name", max_len=MAX_NAME, one_line=True)
    if "sealed" in body:
        check_envelope("join", body["sealed"])


def validate_join_inner(inner: Body) -> bytes:
    """The admission token a join carries sealed to the instructor."""
    check_keys("join token", inner, {"token"}, set())
    token = inner["token"]
    if not isinstance(token, bytes) or len(token) != TOKEN_SIZE:
        raise ValidationError(f"join token is not {TOKEN_SIZE} bytes")
    return token


def validate_share(body: Body) -> None:
    check_keys("share", body, {"event", "to", "key"}, set())
    check_id("share", body, "event")
    check_id("share", body, "to")
    check_key_box("share", body["key"])
