"""Announcements this data dir's person has dismissed: local state (like the invite book),
never synced and not a projection, so a rebuild keeps it and classmates never learn it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

from peer.errors import UsageError
from storage._ingest import now_ms
from storage.schema import announcements, dismissals

if TYPE_CHECKING:
    from storage._store import Store


def dismiss_announcement(store: Store, message_id: bytes) -> None:
    """Unpin an announcement here; dismissing one twice is harmless. UsageError if no
    announcement has this id."""
    with store._write() as conn:
        known = conn.execute(
            select(announcements.c.event_id).where(announcements.c.event_id == message_id)
        ).first()
        if known is None:
            raise UsageError(f"no announcement has the id {message_id.hex()}")
        conn.execute(
            insert(dismissals)
            .values(event_id=message_id, dismissed_at=now_ms())
            .on_conflict_do_nothing()
        )
