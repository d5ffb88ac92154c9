"""The address book: peers met on the network, strangers among them, and the running node.

Local bookkeeping, never synced: which addresses we saw, who is connected, which pid holds
this data dir.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from sqlalchemy import delete, false, insert, null, select, update

from storage._ingest import now_ms
from storage._store_roster import RosterReads, roster_state_of
from storage.schema import heads, meta, peers, profiles


@attrs.frozen
class PeerRecord:
    """One row of the address book, joined with what the logs say about that peer."""

    id: bytes
    name: str | None
    role: str | None
    address: str | None
    last_seen: int | None
    connected: bool


class PeerBook(RosterReads):
    """Peers and strangers (built on the roster: a stranger is someone it does not admit)."""

    def record_peer(self, peer_id: bytes, address: str | None, *, connected: bool) -> None:
        """Note that we met ``peer_id`` now, at ``address``, and whether we still are: ``peerclass
        peers``, the console's presence and the board read it."""
        values = {"address": address, "last_seen": now_ms(), "connected": connected}
        with self._write() as conn:
            done = conn.execute(update(peers).where(peers.c.id == peer_id).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(peers).values(id=peer_id, **values))

    def peer_records(self) -> list[PeerRecord]:
        """Everyone we met on the network or know from the logs (profiles): the people list
        shows both, so a classmate not seen yet is still listed."""
        met = select(
            peers.c.id,
            profiles.c.name,
            profiles.c.role,
            peers.c.address,
            peers.c.last_seen,
            peers.c.connected,
        ).join_from(peers, profiles, profiles.c.author == peers.c.id, isouter=True)
        only_known = select(
            profiles.c.author, profiles.c.name, profiles.c.role, null(), null(), false()
        ).where(profiles.c.author.not_in(select(peers.c.id)))
        with self._read() as conn:
            rows = list(conn.execute(met)) + list(conn.execute(only_known))
        return [PeerRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def strangers_among(self, peer_ids: Sequence[bytes]) -> set[bytes]:
        """Those of ``peer_ids`` that are no member we know: no log of theirs here, or (in a
        class with a roster) not on it or removed from it. The node gives strangers only a
        short grace, so they cannot hold a place in a full class."""
        with self._read() as conn:
            query = select(heads.c.author).where(heads.c.author.in_(list(peer_ids)))
            held = set(conn.execute(query).scalars())
        strangers = set(peer_ids) - held
        roster = self.roster()  # read once, not once per peer: this runs every few seconds
        if roster is not None:
            strangers |= {p for p in held if roster_state_of(roster, p) in (None, "removed")}
        return strangers

    def forget_strangers(self) -> int:
        """Drop address book rows of disconnected peers whose log we never held (e.g.
        throwaway identities), so they do not stay in ``peers`` for ever."""
        with self._write() as conn:
            no_log = peers.c.id.not_in(select(heads.c.author))
            done = conn.execute(delete(peers).where(peers.c.connected.is_(False), no_log))
            return int(done.rowcount)

    def set_running(self, pid: int | None) -> None:
        """Record (or clear) the pid of the ``peerclass run`` using this data dir, so other commands
        (``peers``, ``status``, ``ui``) can say whether the peer is running; clearing also marks
        every peer disconnected, since the node that was connected to them is gone."""
        with self._write() as conn:
            conn.execute(delete(meta).where(meta.c.key == "node_pid"))
            if pid is None:
                conn.execute(update(peers).values(connected=False))
            else:
                conn.execute(insert(meta).values(key="node_pid", value=str(pid)))

    def set_reach(self, doc: str) -> None:
        """Record what the running peer sees of the network (issue 21: its addresses, the
        beacons it hears, the addresses it cannot reach, clock skew), as a JSON text, so
        ``peerclass doctor``, ``peerclass invite`` (the instructor's last known addresses) and
        the UI read it from another process."""
        with self._write() as conn:
            conn.execute(delete(meta).where(meta.c.key == "reach"))
            conn.execute(insert(meta).values(key="reach", value=doc))

    def reach(self) -> str | None:
        """The JSON text :meth:`set_reach` recorded last, or None."""
        with self._read() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == "reach")).scalar()
        return None if value is None else str(value)

    def running_pid(self) -> int | None:
        """The pid :meth:`set_running` recorded: commands tell the person whether their peer is
        running, and so whether what they see is live."""
        with self._read() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == "node_pid")).scalar()
        return None if value is None else int(value)
