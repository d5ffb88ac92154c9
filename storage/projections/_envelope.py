"""The columns every per-event projection row starts with: which event, whose, where in its
author's log, and when."""

from __future__ import annotations

from peer.log import Event


def envelope(event: Event) -> dict[str, object]:
    """``event_id``, ``author``, ``seq`` and ``ts`` of ``event``, for an insert's values."""
    return {"event_id": event.id, "author": event.author, "seq": event.seq, "ts": event.ts}
