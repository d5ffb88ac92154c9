"""Body schemas of the chat kinds: ``chat`` (a message, a private message or an
announcement), ``edit`` and ``delete`` (of one's own earlier message).

A message is never changed in place: an ``edit`` names its ``target`` and carries the new
text (sealed to the same recipient when the message was private), a ``delete`` names its
``target`` only. Whether the target is the author's own chat message, and whether an
announcement's author holds the instructor's role, depend on other events, so the store
decides those (``storage.projections._chat``, ``storage.queries._chat``); here each body is
checked alone, so every peer reaches the same verdict on it.
"""

from __future__ import annotations

from peer.errors import ValidationError
from peer.log._checks import (
    MAX_CHAT_TEXT,
    MAX_SEALED,
    Body,
    check_id,
    check_keys,
    check_room,
    check_text,
)

#: The kinds that revise a chat message, and the action each records.
REVISION_KINDS = ("edit", "delete")


def validate_chat(body: Body) -> None:
    check_keys("chat", body, {"room"}, {"text", "reply_to", "to", "sealed", "announcement"})
    room = body["room"]
    if not isinstance(room, str):
        raise ValidationError("chat room is not text")
    check_room(room)
    check_id("chat", body, "reply_to", optional=True)
    if "announcement" in body and body["announcement"] is not True:
        raise ValidationError("chat announcement must be true when present")
    if "to" in body or "sealed" in body:
        if "announcement" in body:
            raise ValidationError("an announcement is for the whole class, not one recipient")
        _check_private("chat", body)
        return
    check_text("chat", body, "text", max_len=MAX_CHAT_TEXT, one_line=False)


def validate_edit(body: Body) -> None:
    """``{target, text}``, or ``{target, to, sealed}`` for a private message."""
    check_keys("edit", body, {"target"}, {"text", "to", "sealed"})
    check_id("edit", body, "target")
    if "to" in body or "sealed" in body:
        _check_private("edit", body)
        return
    check_text("edit", body, "text", max_len=MAX_CHAT_TEXT, one_line=False)


def validate_delete(body: Body) -> None:
    """``{target}``: the message is shown as deleted from then on."""
    check_keys("delete", body, {"target"}, set())
    check_id("delete", body, "target")


def _check_private(kind: str, body: Body) -> None:
    """The text travels sealed to the recipient, never in the clear."""
    if "text" in body:
        raise ValidationError(f"a private {kind} must not carry clear text")
    check_id(kind, body, "to")
    sealed = body.get("sealed")
    if not isinstance(sealed, bytes) or not 40 <= len(sealed) <= MAX_SEALED:
        raise ValidationError(f"private {kind} 'sealed' is not a box of a valid size")
