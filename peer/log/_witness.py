"""Body schemas of witnessed time (DESIGN §10): ``checkpoint`` and ``settings``.

An author's ``ts`` is a claim. A *witness* signs ``checkpoint`` events: "at my time ``time``
(milliseconds, my wall clock) I held these authors up to these heads", naming only authors
whose head moved since its previous checkpoint. Its own log is a hash chain, so its
checkpoints are ordered; the store refuses one that goes behind an earlier one (an earlier
time, or a lower head for an author). A submission is attested at the earliest witness
checkpoint that covers it (``storage.queries``).

``settings`` is the instructor's word on how the class decides time: whether members' peers
witness too, and the clock skew granted on top of a due time.
"""

from __future__ import annotations

from typing import Any

from peer.errors import ValidationError
from peer.log._checks import Body, check_keys

#: The most heads one checkpoint may name (a class is far smaller; each head is ~75 bytes,
#: so a full checkpoint stays well inside the event size limit).
MAX_CHECKPOINT_HEADS = 1024
MAX_TIME_MS = 2**53
MAX_SEQ = 2**53
#: Who witnesses: the instructor's peer only, or also every admitted member's peer.
WITNESS_MODES = ("instructor", "members")
DEFAULT_WITNESSES = "instructor"
#: The clock skew granted on top of a due time when judging attested time, unless the class
#: says otherwise: room for the witness's clock and the last hop, not for an offline student.
DEFAULT_SKEW_MS = 60_000
MAX_SKEW_MS = 24 * 3600 * 1000


def _whole(kind: str, key: str, value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValidationError(f"{kind} {key} must be a whole number from {low} to {high}")
    return value


def validate_checkpoint(body: Body) -> None:
    """``{"time": ms, "heads": [[author, seq, head id], ...]}``, each author at most once."""
    check_keys("checkpoint", body, {"time", "heads"}, set())
    _whole("checkpoint", "time", body["time"], 1, MAX_TIME_MS)
    entries = body["heads"]
    if not isinstance(entries, list):
        raise ValidationError("checkpoint heads is not a list")
    if len(entries) > MAX_CHECKPOINT_HEADS:
        raise ValidationError(
            f"checkpoint names {len(entries)} heads; the limit is {MAX_CHECKPOINT_HEADS}"
        )
    seen: set[bytes] = set()
    for entry in entries:
        if not isinstance(entry, list) or len(entry) != 3:
            raise ValidationError("checkpoint head is not [author, seq, id]")
        author, seq, head = entry
        if not isinstance(author, bytes) or len(author) != 32:
            raise ValidationError("checkpoint head author is not a 32-byte key")
        if not isinstance(head, bytes) or len(head) != 32:
            raise ValidationError("checkpoint head id is not a 32-byte id")
        _whole("checkpoint", "head seq", seq, 1, MAX_SEQ)
        if author in seen:
            raise ValidationError("checkpoint names an author twice")
        seen.add(author)


def validate_settings(body: Body) -> None:
    """``{"witnesses": "instructor" | "members", "skew_ms": int}``."""
    check_keys("settings", body, {"witnesses", "skew_ms"}, set())
    if body["witnesses"] not in WITNESS_MODES:
        raise ValidationError(
            f"settings witnesses {body['witnesses']!r} is not one of {', '.join(WITNESS_MODES)}"
        )
    _whole("settings", "skew_ms", body["skew_ms"], 0, MAX_SKEW_MS)
