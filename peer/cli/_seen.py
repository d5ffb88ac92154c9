"""What a console announcer may consult about a newly stored event (``peer.cli._console`` and
``peer.cli._console_chat`` both tell events with it)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from peer.identity import Membership, short_id
from peer.log import Event
from storage import ClassNames, Store


@attrs.frozen
class Seen:
    """What an announcer may consult. Announcers run in a worker thread, so they may query
    the (blocking) store, e.g. to tell whether a review is of one of our submissions."""

    me: Membership
    store: Store
    names: ClassNames

    def name_of(self, author: bytes) -> str:
        return f"{self.names.label(author)} ({short_id(author)})"


#: One kind's way of telling an event: a line to print, or None to stay quiet.
Announcer = Callable[[Event, Seen], str | None]
