"""Body schemas of each event kind: a body is checked before it is signed or stored.

Only the body itself is checked here, so every peer reaches the same verdict on the same
event no matter what else it holds; rules that need the author's earlier events live in the
store's projections.
"""

from __future__ import annotations

from collections.abc import Callable

from peer.errors import ValidationError
from peer.log._checks import (
    MAX_CHAT_TEXT,
    MAX_NAME,
    MAX_SEALED,
    ROLES,
    Body,
    check_id,
    check_keys,
    check_room,
    check_text,
)
from peer.log._curriculum import validate_feedback, validate_problem, validate_submission
from peer.log._roster import validate_join, validate_roster, validate_share

BodyValidator = Callable[[Body], None]


def _validate_profile(body: Body) -> None:
    check_keys("profile", body, {"name", "role"}, set())
    check_text("profile", body, "name", max_len=MAX_NAME, one_line=True)
    if body["role"] not in ROLES:
        raise ValidationError(f"profile role {body['role']!r} is not one of {', '.join(ROLES)}")


def _validate_chat(body: Body) -> None:
    check_keys("chat", body, {"room"}, {"text", "reply_to", "to", "sealed"})
    room = body["room"]
    if not isinstance(room, str):
        raise ValidationError("chat room is not text")
    check_room(room)
    check_id("chat", body, "reply_to", optional=True)
    if "to" in body or "sealed" in body:
        # A private message: the text travels sealed to the recipient, never in the clear.
        if "text" in body:
            raise ValidationError("a private chat message must not carry clear text")
        check_id("chat", body, "to")
        sealed = body.get("sealed")
        if not isinstance(sealed, bytes) or not 40 <= len(sealed) <= MAX_SEALED:
            raise ValidationError("private chat 'sealed' is not a box of a valid size")
        return
    check_text("chat", body, "text", max_len=MAX_CHAT_TEXT, one_line=False)


#: Every kind this version knows, and its body schema: the whole dispatch.
_VALIDATORS: dict[str, BodyValidator] = {
    "profile": _validate_profile,
    "chat": _validate_chat,
    "problem": validate_problem,
    "submission": validate_submission,
    "feedback": validate_feedback,
    "roster": validate_roster,
    "join": validate_join,
    "share": validate_share,
}


def validate_body(kind: str, body: Body) -> None:
    """Raise ValidationError if ``kind`` is unknown or ``body`` breaks its schema."""
    validator = _VALIDATORS.get(kind)
    if validator is None:
        raise ValidationError(f"unknown event kind {kind!r}")
    validator(body)
