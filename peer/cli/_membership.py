"""Membership work outside the roster commands: the first events of a new class or a joiner,
and what the running peer authors by itself (admit a valid one-student invite's joiner, share
submission keys on peer-review problems: ``storage.queries._roster``)."""

from __future__ import annotations

import logging
from typing import Any

from peer.errors import PeerclassError
from peer.identity import ClassInfo, Membership
from peer.log import seal_body
from storage import AsyncStore
from storage.queries import pending_duties

log = logging.getLogger("peerclass.roster")


# ---- joining and founding -------------------------------------------------------------


def join_body(klass: ClassInfo, name: str, token: bytes | None) -> dict[str, Any]:
    """A newcomer's ``join``: its name, and the invite's token sealed to the instructor only."""
    body: dict[str, Any] = {"name": name}
    if token is not None:
        body["sealed"], _ = seal_body({"token": token}, [klass.instructor])
    return body


def founding_body(membership: Membership, name: str) -> dict[str, Any]:
    """The instructor's first roster entry, itself: from then on the class has a roster."""
    return {"action": "admit", "peer": membership.peer_id, "name": name, "role": "instructor"}


# ---- the running peer -------------------------------------------------------------------


#: New events looked at for "chat alone" before the roster is asked anyway.
CHAT_PAGE = 1000


async def keep_membership(store: AsyncStore, membership: Membership) -> None:
    """Author what the roster asks of this peer (admits, shares) whenever new events arrive.
    Chat asks nothing of the roster, so a batch of chat alone is passed over without the
    roster's look (it came once per received line: issue 21)."""
    cursor = -1
    while True:
        if cursor >= 0:
            await store.watch.wait_beyond(cursor)
            new = await store.refs_after(cursor, CHAT_PAGE)  # shared with the sessions' read
            if 0 < len(new) < CHAT_PAGE and all(ref.kind == "chat" for ref in new):
                cursor = new[-1].local_id
                continue
        cursor = store.watch.max_local_id
        duties = await store.query(pending_duties)
        for duty in duties:
            try:
                await store.append(membership.signing_key, duty.kind, duty.body)
            except PeerclassError as exc:  # e.g. a roster event another process just wrote
                log.warning("could not author %s: %s", duty.kind, exc)
        if duties:
            log.info("authored %d roster/share events", len(duties))
