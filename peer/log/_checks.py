"""Small checks shared by every kind's body schema: keys, text, ids, room names."""

from __future__ import annotations

import re
from typing import Any

from peer.errors import ValidationError

Body = dict[str, Any]

MAX_NAME = 64
MAX_ROOM = 64
MAX_CHAT_TEXT = 16_000
#: A sealed box: 24-byte nonce + 16-byte tag + the text in UTF-8 (up to 4 bytes a character),
#: plus a padding marker and length prefix (``peer.log._private``).
MAX_SEALED = 40 + 5 + 4 * MAX_CHAT_TEXT
#: Roster roles (DESIGN §10): instructors and TAs are "the instructor" to sealing.
ROLES = ("instructor", "ta", "student")
_ROOM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def normalize_newlines(text: str) -> str:
    """``text`` with every line break as ``\\n``, the one form that is signed and stored.

    People's tools send other forms: browsers post ``\\r\\n`` from every text area, files
    written on Windows hold ``\\r\\n``, and some terminals and old editors send a lone
    ``\\r``. Each boundary where typed text enters (web forms, command-line arguments, files
    read by commands, the console) calls this before building a body, so the schema below can
    keep refusing ``\\r`` (and every other control character) in what is signed.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_keys(kind: str, body: Body, required: set[str], optional: set[str]) -> None:
    """Every required key present, nothing beyond required and optional."""
    missing = required - body.keys()
    if missing:
        raise ValidationError(f"{kind} body lacks {', '.join(sorted(missing))}")
    extra = body.keys() - required - optional
    if extra:
        raise ValidationError(f"{kind} body has unknown fields {', '.join(sorted(extra))}")


def check_text(
    kind: str, body: Body, key: str, *, max_len: int, allow_empty: bool = False, one_line: bool
) -> str:
    """A string field within its length; one-line fields may hold no control characters."""
    value = body.get(key)
    if not isinstance(value, str):
        raise ValidationError(f"{kind} {key} is not text")
    if not allow_empty and not value.strip():
        raise ValidationError(f"{kind} {key} is empty")
    if len(value) > max_len:
        raise ValidationError(f"{kind} {key} is {len(value)} characters; the limit is {max_len}")
    if one_line and ("\n" in value or CONTROL_RE.search(value)):
        raise ValidationError(f"{kind} {key} must be one line of printable text")
    found = CONTROL_RE.search(value)
    if found is not None:
        raise ValidationError(
            f"{kind} {key} contains a control character (U+{ord(found.group()):04X} at "
            f"character {found.start() + 1}); only line breaks and tabs are allowed"
        )
    return value


def check_id(kind: str, body: Body, key: str, *, optional: bool = False) -> bytes | None:
    """A 32-byte event id or key field."""
    value = body.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValidationError(f"{kind} {key} is not a 32-byte id")
    return value


def check_room(room: str) -> str:
    """Room names are short, start with a letter or digit, and hold no spaces."""
    if not room or len(room) > MAX_ROOM or not _ROOM_RE.fullmatch(room):
        raise ValidationError(
            f"room {room!r} is not valid: use letters, digits, '.', '_' or '-', at most {MAX_ROOM}"
        )
    return room
