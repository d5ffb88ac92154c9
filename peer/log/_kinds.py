"""Body schemas of each event kind: a body is checked before it is signed or stored.

Only the body itself is checked here, so every peer reaches the same verdict on the same
event no matter what else it holds; rules that need the author's earlier events live in the
store's projections.
"""

from __future__ import annotations

from collections.abc import Callable

from peer.errors import ValidationError
from peer.log._chat import validate_chat, validate_delete, validate_edit
from peer.log._checks import (
    MAX_NAME,
    ROLES,
    Body,
    check_keys,
    check_text,
)
from peer.log._curriculum import validate_feedback, validate_problem, validate_submission
from peer.log._roster import validate_join, validate_roster, validate_share
from peer.log._term import validate_extension
from peer.log._witness import validate_checkpoint, validate_settings

BodyValidator = Callable[[Body], None]


def _validate_profile(body: Body) -> None:
    check_keys("profile", body, {"name", "role"}, set())
    check_text("profile", body, "name", max_len=MAX_NAME, one_line=True)
    if body["role"] not in ROLES:
        raise ValidationError(f"profile role {body['role']!r} is not one of {', '.join(ROLES)}")


#: Every kind this version knows, and its body schema: the whole dispatch.
_VALIDATORS: dict[str, BodyValidator] = {
    "profile": _validate_profile,
    "chat": validate_chat,
    "edit": validate_edit,
    "delete": validate_delete,
    "problem": validate_problem,
    "submission": validate_submission,
    "feedback": validate_feedback,
    "roster": validate_roster,
    "join": validate_join,
    "share": validate_share,
    "checkpoint": validate_checkpoint,
    "settings": validate_settings,
    "extension": validate_extension,
}


def validate_body(kind: str, body: Body) -> None:
    """Raise ValidationError if ``kind`` is unknown or ``body`` breaks its schema."""
    validator = _VALIDATORS.get(kind)
    if validator is None:
        raise ValidationError(f"unknown event kind {kind!r}")
    validator(body)
