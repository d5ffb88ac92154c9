"""Private conversations as a person at a terminal needs them: who wrote to me last."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from storage.schema import messages

if TYPE_CHECKING:
    from storage._store import Store


def last_private_sender(store: Store, me: bytes) -> bytes | None:
    """The author of the newest private message sent to ``me`` (None if there is none):
    whom the console's ``/reply`` answers. One step down ``ix_messages_private``."""
    query = (
        select(messages.c.author)
        .where(messages.c.recipient == me, messages.c.author != me)
        .order_by(messages.c.ts.desc(), messages.c.author.desc(), messages.c.seq.desc())
        .limit(1)
    )
    with store.read() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else bytes(found)


def chat_rooms(store: Store) -> list[str]:
    """The rooms with messages, by name: one index seek per room (``ix_messages_room_order``
    leads with the room), never a read of the messages themselves."""
    rooms: list[str] = []
    with store.read() as conn:
        while True:
            query = select(func.min(messages.c.room))
            if rooms:
                query = query.where(messages.c.room > rooms[-1])
            room = conn.execute(query).scalar()
            if room is None:
                return rooms
            rooms.append(str(room))
