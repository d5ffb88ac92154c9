"""The sync and gossip protocol of one connection, as a sans-IO state machine.

No Trio, no store, no clock: the driver (:mod:`_session`) feeds it what happened, each with
the current time, and carries out what it returns.

Inputs
  ``received(message, now)``   a message from the other side -> immediate actions
  ``ingested(outcome, now)``   what the store did with a received batch -> notices
  ``stored(refs, up_to, now)`` the store now holds these new events (local ids up to ``up_to``)
  ``request_sync()`` / ``close(reason)``   the node asks for anti-entropy / a goodbye
  ``poll(now, store_max)``     what to send next, given the store holds up to ``store_max``

Actions
  ``Send(message)``, ``Serve(author, after, upto)`` (stream that range), ``Push(local_ids)``
  (send those stored events as live gossip), ``ReadStored(after)`` (fetch refs past the
  cursor and call ``stored``), ``Ingest(raws, pushed)``, ``Close(reason)`` (say goodbye),
  ``Closed(reason)`` (the other side ended), ``Wait(until, store_beyond)``, and the notices
  ``ForkSeen(author, seq)``, ``OwnLogAhead(seq)`` and ``AddressesHeard(records)`` (peer
  exchange: the node verifies them); ``offer_addresses(records)`` queues records to pass on.

Rules, each in one method: the version vector exchange (``_on_have``), range requests
(``_on_want``), lazy announcements (``_on_ihave``), a gap seen (``_gap_seen``), a fork seen
(``_fork_seen``), prune on a pushed duplicate (``_on_ingested_duplicates``), graft on a
missed announcement (``_due_grafts``), the full-serve throttle (``_full_serve_due``),
keep-alive and idle timing (``_ping_due``, ``check_idle``). Every table that the other side
can grow is capped at ``max_authors`` entries; naming more closes the connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

from peer.errors import ProtocolError
from peer.net._gossip import Gossip
from peer.net._wire import (
    MAX_ADDR_RECORDS,
    VECTOR_CHUNK,
    Addrs,
    Bye,
    Events,
    Have,
    Hello,
    IHave,
    Message,
    Ping,
    Prune,
    Vector,
    Want,
)

#: A keep-alive goes out after this long without sending anything ...
PING_INTERVAL = 3.0
#: ... and a connection that hears nothing for this long is dead (noticed within 10 s).
IDLE_TIMEOUT = 9.0
#: A peer asking for everything again is served at most this often.
FULL_SERVE_INTERVAL = 3.0
#: Don't ask the same peer for the same missing range more often than this.
GAP_RETRY = 2.0
#: Lazy announcements are gathered this long, then sent in one ``ihave``.
IHAVE_DELAY = 0.05
#: An announced event that has not arrived this long after the announcement is grafted.
GRAFT_TIMEOUT = 0.25
#: The most authors the other side may make us track (vector, announcements, requests):
#: far more than a class has, few enough to bound what one connection can make us hold.
MAX_AUTHORS = 10_000


@attrs.frozen
class SyncConfig:
    """The machine's timings and caps, passed in rather than read from module constants so
    that a test, the simulation or a node (``NodeConfig.sync``) can shorten them without
    patching anything. Defaults are what a classroom uses; the wire format does not depend
    on any of them."""

    ping_interval: float = PING_INTERVAL
    idle_timeout: float = IDLE_TIMEOUT
    full_serve_interval: float = FULL_SERVE_INTERVAL
    gap_retry: float = GAP_RETRY
    ihave_delay: float = IHAVE_DELAY
    graft_timeout: float = GRAFT_TIMEOUT
    max_authors: int = MAX_AUTHORS
    vector_chunk: int = VECTOR_CHUNK
    #: Whether another author's events start eager on a link. Our own events always do (we
    #: are the root of their tree: no duplicates); others' start lazy, so the first one
    #: grafts the link that announced it first, and the tree per author forms on demand
    #: (Plumtree with one tree per source, as SSB's EBT does per feed).
    start_eager: bool = False
    #: Catch up by announcement (issue 21): our vector asks the other side to announce what
    #: we lack instead of serving it all, and each author is grafted from one link (the
    #: node-wide claim in ``Gossip``), so a late joiner dialing five members is served once.
    #: A claim holds ``graft_claim`` seconds (``graft_timeout`` if None), renewed while its
    #: events keep arriving. Off here (the simulation and the machine's tests use the
    #: classic full serve); the node turns it on (``NodeConfig.sync``).
    split_catchup: bool = False
    graft_claim: float | None = None


# ---- inputs -------------------------------------------------------------------------------


class StoredRef(Protocol):
    """A newly stored event as the store's cursor lists it (``storage.EventRef`` is one)."""

    @property
    def local_id(self) -> int:
        """Its place in this store's arrival order: pushes follow it, never re-sent."""
        ...

    @property
    def author(self) -> bytes:
        """Whose log it extends (per-author eager or lazy pushing)."""
        ...

    @property
    def seq(self) -> int:
        """Its seq in that log (announced heads, fork limits)."""
        ...

    @property
    def id(self) -> bytes:
        """Its event id: heads carry it, so a fork shows in the vectors."""
        ...


@attrs.frozen
class Ref:
    """A StoredRef of our own, for tests and the simulation."""

    local_id: int
    author: bytes
    seq: int
    id: bytes


@attrs.frozen
class IngestOutcome:
    """What the store did with one batch received on this connection."""

    #: author -> (last seq stored, its id), for the authors the batch extended.
    stored: Mapping[bytes, tuple[int, bytes]] = attrs.field(factory=dict)
    stored_count: int = 0
    duplicates: int = 0
    gaps: Mapping[bytes, int] = attrs.field(factory=dict)  # author -> first seq we lack
    rejected: tuple[str, ...] = ()
    #: author -> highest seq in the batch: the sender holds at least this much.
    seen: Mapping[bytes, int] = attrs.field(factory=dict)
    #: The batch was live gossip (an eager push), not an answer to a request.
    pushed: bool = False
    #: Authors of which the batch brought only events we already held.
    duplicate_authors: frozenset[bytes] = frozenset()


# ---- actions ------------------------------------------------------------------------------


@attrs.frozen
class Send:
    """Send ``message`` as it is (vectors, requests, announcements, keep-alives): the driver
    bounds the send, the machine has already counted it as sent."""

    message: Message


@attrs.frozen
class Serve:
    """Stream ``author``'s events with ``after`` < seq <= ``upto``."""

    author: bytes
    after: int
    upto: int


@attrs.frozen
class Push:
    """Send these stored events (by local id) as live gossip."""

    local_ids: tuple[int, ...]


@attrs.frozen
class ReadStored:
    """Read the refs of events stored past local id ``after`` and pass them to ``stored``."""

    after: int


@attrs.frozen
class Ingest:
    """Store these received events (``pushed``: live gossip) and report the outcome to
    ``ingested``: only the store can tell new events from duplicates, gaps and forks."""

    raws: list[bytes]
    pushed: bool


@attrs.frozen
class Close:
    """Say goodbye with ``reason`` and end the connection."""

    reason: str


@attrs.frozen
class Closed:
    """The other side said goodbye."""

    reason: str


@attrs.frozen
class Wait:
    """Nothing to send until ``until``, or until the store holds more than ``store_beyond``,
    or until another input arrives."""

    until: float
    store_beyond: int


@attrs.frozen
class ForkSeen:
    """The other side holds a different event at ``seq`` of ``author`` (its evidence is being
    fetched; the store records the fork when it arrives)."""

    author: bytes
    seq: int


@attrs.frozen
class OwnLogAhead:
    """The other side holds more of our own log than we do: our data dir was copied."""

    seq: int


@attrs.frozen
class AddressesHeard:
    """The other side passed on members' signed address records (peer exchange): the node
    verifies each before anything is dialed. ``hears``: by which ways the other side hears
    us (None: it does not say)."""

    records: list[bytes]
    hears: dict[str, bool] | None = None


Action = (
    Send
    | Serve
    | Push
    | ReadStored
    | Ingest
    | Close
    | Closed
    | Wait
    | ForkSeen
    | OwnLogAhead
    | AddressesHeard
)
Notice = ForkSeen | OwnLogAhead | AddressesHeard


@attrs.define(eq=False)
class SyncMachine:
    """One connection's sync and gossip decisions, with no I/O and no clock of its own.

    Sans-IO so the rules can be tested in microseconds with no mocks, and so the simulation
    runs hundreds of peers on the same code: the driver (``_session``) feeds it what
    happened with the time, and does what it returns. Everything the other side can make it
    remember is capped by ``config.max_authors``; exceeding the cap is a ProtocolError, and
    the driver closes this connection only.
    """

    gossip: Gossip
    #: When the connection started (the driver's clock).
    started: float
    #: The store's local id when the connection started: pushes start after it.
    cursor: int
    config: SyncConfig = attrs.field(factory=SyncConfig)
    #: What we know the other side holds: author -> at least this seq.
    remote_known: dict[bytes, int] = attrs.field(factory=dict)
    #: Per author, whether we push its new events to this link eagerly (else we announce
    #: them); authors absent follow ``config.start_eager``, and our own are always eager.
    eager: dict[bytes, bool] = attrs.field(factory=dict)
    _synced: bool = False  # its first whole vector arrived: live pushes may start
    _incoming: dict[bytes, tuple[int, bytes]] = attrs.field(factory=dict)
    _vector_out: list[Have] | None = None  # our vector, chunked, still to send
    _wants: dict[bytes, int] = attrs.field(factory=dict)  # ranges we ask for
    _serve: dict[bytes, int] = attrs.field(factory=dict)  # ranges it asked for
    _serve_all: bool = False
    _next_full_serve: float = 0.0
    _gap_asked: dict[bytes, tuple[int, float]] = attrs.field(factory=dict)
    _fork_asked: dict[bytes, int] = attrs.field(factory=dict)
    _own_ahead_told: int = 0
    _announce: dict[bytes, tuple[int, bytes]] = attrs.field(factory=dict)
    _announce_due: float | None = None
    #: Announced by the other side, not held here: author -> (seq, graft if still missing at).
    _missing: dict[bytes, tuple[int, float]] = attrs.field(factory=dict)
    _prune_out: set[bytes] = attrs.field(factory=set)
    #: Authors we asked it to stop pushing (not asked again until we graft them).
    _pruned_them: set[bytes] = attrs.field(factory=set)
    #: Events to push, as (local id, author, seq): a serve of that author's range drops
    #: those it covers, so an event queued for a push is not sent twice.
    _push: list[tuple[int, bytes, int]] = attrs.field(factory=list)
    _last_sent: float = 0.0
    _last_heard: float = 0.0
    _closing: str | None = None
    #: Address records to pass on (peer exchange), sent after our vector.
    _addrs_out: list[bytes] = attrs.field(factory=list)
    #: By which ways we hear the other side, told with the next ``addrs`` frame.
    _hears_out: dict[str, bool] | None = None

    def __attrs_post_init__(self) -> None:
        self._last_sent = self._last_heard = self.started
        self._vector_out = self._chunk_vector()

    # ---- inputs from the node ---------------------------------------------------------

    def request_sync(self) -> None:
        """Send our whole version vector again (periodic anti-entropy)."""
        self._vector_out = self._chunk_vector()

    def close(self, reason: str) -> None:
        """Say goodbye with ``reason`` and end the connection."""
        if self._closing is None:
            self._closing = reason

    def offer_addresses(self, records: list[bytes], hears: dict[str, bool] | None = None) -> None:
        """Pass these signed address records on (peer exchange), with ``hears`` (by which
        ways we hear the other side); a newer offer replaces one not yet sent, so a slow link
        never queues more than one frame of them."""
        self._addrs_out = list(records[:MAX_ADDR_RECORDS])
        self._hears_out = hears

    # ---- messages from the other side -------------------------------------------------

    def received(self, message: Message, now: float) -> list[Action]:
        """Take one message; Ingest, Closed and notices are returned for the driver."""
        self._last_heard = now
        match message:
            case Events():
                return [Ingest(message.events, message.pushed)] if message.events else []
            case Have():
                return self._on_have(message, now)
            case Want():
                self._on_want(message)
            case IHave():
                return self._on_ihave(message.heads, now)
            case Prune():
                for author in message.authors:
                    self.eager[author] = False
                self._bound(len(self.eager), "prune")
            case Addrs():
                if message.records or message.hears is not None:
                    return [AddressesHeard(message.records, message.hears)]
            case Ping():
                pass
            case Bye():
                return [Closed(message.reason)]
            case Hello():
                raise ProtocolError("unexpected hello after the handshake")
        return []

    def _on_have(self, have: Have, now: float) -> list[Action]:
        """Its version vector (in chunks): its own word on what it holds replaces our
        estimate; everything it lacks is served (at most every ``full_serve_interval``)."""
        self._incoming.update(have.heads)
        self._bound(len(self._incoming), "version vector")
        if have.more:
            return []
        heads, self._incoming = self._incoming, {}
        self.remote_known = {author: seq for author, (seq, _) in heads.items()}
        self._synced = True
        if have.split:
            self._announce_lacking(now)
        else:
            self._serve_all = True
        return self._compare_heads(heads)

    def _announce_lacking(self, now: float) -> None:
        """Answer a split vector: announce every author it lacks (it grafts each from one
        link); a forked author's agreed prefix is served at once instead (its head id at
        that seq is not what we hold, so announcing it would look like a fork)."""
        for author, (seq, head_id) in self.gossip.ours.items():
            limit = self.gossip.relay_limit(author)
            theirs = self.remote_known.get(author, 0)
            if limit <= theirs:
                continue
            if limit == seq:
                self._announce[author] = (seq, head_id)
            else:
                self._serve[author] = min(theirs, self._serve.get(author, theirs))
        if self._announce:
            self._announce_due = now

    def _on_want(self, want: Want) -> None:
        """It lacks what follows these seqs, whatever we believed; a graft also makes this
        link eager again."""
        for author, after in want.after.items():
            if self.gossip.held(author) == 0:
                continue  # nothing of that log here
            self.remote_known[author] = after
            self._serve[author] = min(after, self._serve.get(author, after))
        self._bound(len(self.remote_known), "request")
        if want.graft:
            for author in want.after:
                self.eager[author] = True
                self._pruned_them.discard(author)
            self._bound(len(self.eager), "graft")

    def _on_ihave(self, heads: Vector, now: float) -> list[Action]:
        """A lazy announcement: note what it holds, and arm a graft timer for what we lack.
        That includes our own log when it holds more of it than we do: a data dir restored
        from a backup fetches its own history this way (issue 22), as a full serve gave it
        before split catch-up; authoring stays blocked meanwhile (``OwnLogAhead``)."""
        for author, (seq, _) in heads.items():
            if seq > self.remote_known.get(author, 0):
                self.remote_known[author] = seq
            if seq > self.gossip.held(author) and author not in self.gossip.fork_points:
                wanted = self._missing.get(author)
                due = now + self.config.graft_timeout if wanted is None else wanted[1]
                self._missing[author] = (max(seq, wanted[0] if wanted else 0), due)
        self._bound(len(self.remote_known), "announcement")
        self._bound(len(self._missing), "announcement")
        return self._compare_heads(heads)

    def _compare_heads(self, heads: Vector) -> list[Action]:
        """Forks (same seq, different id) and copies of our own log found in its heads."""
        notices: list[Action] = []
        own = self.gossip.own_id
        for author, (seq, head_id) in heads.items():
            ours = self.gossip.ours.get(author)
            if ours is not None and ours[0] == seq and ours[1] != head_id:
                notices.extend(self._fork_seen(author, seq))
            if author == own and seq > max(self.gossip.held(own), self._own_ahead_told):
                self._own_ahead_told = seq
                notices.append(OwnLogAhead(seq))
        return notices

    def _fork_seen(self, author: bytes, seq: int) -> list[Action]:
        """Two different events at one seq: fetch the other side's (the store keeps it as
        evidence and marks the author forked), once per author and seq."""
        if author in self.gossip.fork_points or self._fork_asked.get(author) == seq:
            return []
        self._fork_asked[author] = seq
        self._wants[author] = min(seq - 1, self._wants.get(author, seq - 1))
        return [ForkSeen(author, seq)]

    # ---- what the store did --------------------------------------------------------------

    def ingested(self, outcome: IngestOutcome, now: float) -> list[Action]:
        """Learn from a stored batch; invalid events close the connection."""
        self._last_heard = max(self._last_heard, now)
        hold = self._claim_hold()
        for author, (seq, head_id) in outcome.stored.items():
            self.gossip.learn(author, seq, head_id)
            self.gossip.renew_graft(author, now, hold)
        for author, seq in outcome.seen.items():
            if seq > self.remote_known.get(author, 0):
                self.remote_known[author] = seq
        self._bound(len(self.remote_known), "batch")
        if outcome.rejected:
            bad = outcome.rejected
            raise ProtocolError(f"sent {len(bad)} invalid event(s), e.g. {bad[0]}")
        for author, first_missing in outcome.gaps.items():
            self._gap_seen(author, first_missing, now)
        if outcome.pushed and outcome.duplicate_authors:
            self._on_ingested_duplicates(outcome.duplicate_authors)
        return []

    def _gap_seen(self, author: bytes, first_missing: int, now: float) -> None:
        """Events past ``first_missing`` arrived without it: ask this peer for the range, but
        not again for the same gap within ``gap_retry``."""
        asked = self._gap_asked.get(author)
        if (
            asked is not None
            and asked[0] == first_missing
            and now - asked[1] <= (self.config.gap_retry)
        ):
            return
        if len(self._gap_asked) >= self.config.max_authors:
            retry = self.config.gap_retry
            self._gap_asked = {a: g for a, g in self._gap_asked.items() if now - g[1] <= retry}
            self._bound(len(self._gap_asked) + 1, "gap")
        self._gap_asked[author] = (first_missing, now)
        self._wants[author] = min(first_missing - 1, self._wants.get(author, first_missing))

    def _on_ingested_duplicates(self, authors: frozenset[bytes]) -> None:
        """Plumtree's prune: pushed events we already had came by a redundant path, so this
        link stops pushing those authors both ways (announcements still flow on it)."""
        for author in authors:
            self.eager[author] = False
            if author not in self._pruned_them:
                self._pruned_them.add(author)
                self._prune_out.add(author)
        self._bound(len(self.eager), "batch")
        self._bound(len(self._pruned_them), "batch")

    def stored(self, refs: Sequence[StoredRef], up_to: int, now: float) -> None:
        """The store holds these new events (up to local id ``up_to``): push them on an eager
        link, announce them on a lazy one, skip what the other side holds or a fork's tail."""
        self.cursor = max(self.cursor, up_to)
        for ref in refs:
            self.gossip.learn(ref.author, ref.seq, ref.id)
        if not self._synced:
            return  # its vector is not here yet: the full serve will cover these
        for ref in refs:
            if ref.seq <= self.remote_known.get(ref.author, 0):
                continue
            if ref.seq > self.gossip.relay_limit(ref.author):
                continue
            if self.pushes_eagerly(ref.author):
                self._push.append((ref.local_id, ref.author, ref.seq))
                self.remote_known[ref.author] = ref.seq
            else:
                held = self._announce.get(ref.author)
                if held is None or ref.seq > held[0]:
                    self._announce[ref.author] = (ref.seq, ref.id)
                if self._announce_due is None:
                    self._announce_due = now + self.config.ihave_delay

    # ---- what to send next ----------------------------------------------------------------

    def poll(self, now: float, store_max: int) -> Action:
        """The next thing to do on the sending side, most urgent first."""
        if self._closing is not None:
            return Close(self._closing)
        if self._vector_out:
            return self._sent(Send(self._vector_out.pop(0)), now)
        if self._addrs_out or self._hears_out is not None:
            records, self._addrs_out = self._addrs_out, []
            hears, self._hears_out = self._hears_out, None
            return self._sent(Send(Addrs(records, hears)), now)
        if self._wants:
            return self._sent(Send(Want(self._take(self._wants))), now)
        if self._prune_out:
            authors = sorted(self._prune_out)[: self.config.vector_chunk]
            self._prune_out.difference_update(authors)
            return self._sent(Send(Prune(authors)), now)
        grafts = self._due_grafts(now)
        if grafts:
            return self._sent(Send(Want(grafts, graft=True)), now)
        if self._announce_due is not None and now >= self._announce_due:
            heads = {a: h for a, h in self._announce.items() if h[0] > self.remote_known.get(a, 0)}
            self._announce, self._announce_due = {}, None
            if heads:
                return self._sent(Send(IHave(heads)), now)
        if self._full_serve_due(now):
            self._serve_all = False
            self._next_full_serve = now + self.config.full_serve_interval
            for author in self.gossip.ours:
                theirs = self.remote_known.get(author, 0)
                self._serve[author] = min(theirs, self._serve.get(author, theirs))
        while self._serve:
            author, after = next(iter(self._serve.items()))
            del self._serve[author]
            upto = self.gossip.relay_limit(author)
            if upto > after:
                self.remote_known[author] = max(upto, self.remote_known.get(author, 0))
                # The range goes out before any push still queued: those it holds would
                # arrive twice (a gap's Want asks for events already queued to push).
                self._push = [p for p in self._push if p[1] != author or p[2] > upto]
                return self._sent(Serve(author, after, upto), now)
        if self._push:
            pushed, self._push = tuple(p[0] for p in self._push), []
            return self._sent(Push(pushed), now)
        if store_max > self.cursor:
            return ReadStored(self.cursor)
        if self._ping_due(now):
            return self._sent(Send(Ping()), now)
        return Wait(self._next_wake(), self.cursor)

    def _sent(self, action: Action, now: float) -> Action:
        self._last_sent = now
        return action

    def _take(self, table: dict[bytes, int]) -> dict[bytes, int]:
        """Up to one frame's worth of ``table`` (removed from it)."""
        out = dict(list(table.items())[: self.config.vector_chunk])
        for author in out:
            del table[author]
        return out

    def _due_grafts(self, now: float) -> dict[bytes, int]:
        """Plumtree's graft: announced events still missing after ``graft_timeout`` are asked
        of the link that announced them (which then pushes that author to us: the link joins
        the author's tree), unless another link already is fetching them; then this one waits
        another timeout."""
        grafts: dict[bytes, int] = {}
        timeout = self.config.graft_timeout
        hold = self._claim_hold()
        for author, (seq, due) in list(self._missing.items()):
            held = self.gossip.held(author)
            if held >= seq:
                del self._missing[author]
            elif due <= now:
                if self.gossip.claim_graft(author, seq, now, hold):
                    grafts[author] = held
                    del self._missing[author]
                else:
                    self._missing[author] = (seq, now + timeout)
            if len(grafts) >= self.config.vector_chunk:
                break
        for author, held in grafts.items():
            # It pushes this author to us from now on; we don't push it back up the tree.
            self.remote_known[author] = min(held, self.remote_known.get(author, held))
            self._pruned_them.discard(author)
        return grafts

    def _claim_hold(self) -> float:
        claim = self.config.graft_claim
        return self.config.graft_timeout if claim is None else claim

    def pushes_eagerly(self, author: bytes) -> bool:
        """Whether ``author``'s new events go to this link at once (else announced)."""
        if author == self.gossip.own_id:
            return True
        return self.eager.get(author, self.config.start_eager)

    def _full_serve_due(self, now: float) -> bool:
        """A full serve is owed and the throttle allows it (a member spamming vectors gets
        no more than one every ``full_serve_interval``)."""
        return self._serve_all and now >= self._next_full_serve

    def _ping_due(self, now: float) -> bool:
        return now >= self._last_sent + self.config.ping_interval  # as _next_wake adds

    def _next_wake(self) -> float:
        times = [self._last_sent + self.config.ping_interval]
        if self._announce_due is not None:
            times.append(self._announce_due)
        if self._serve_all:
            times.append(self._next_full_serve)
        times.extend(due for _, due in self._missing.values())
        return min(times)

    # ---- liveness ---------------------------------------------------------------------------

    def idle_deadline(self, listening_since: float = float("-inf")) -> float:
        """When the connection counts as dead if nothing more is heard. Only time spent
        listening counts: a reader held up by a slow store (``listening_since`` is when it
        started to listen again) has not been waiting for the other side."""
        return max(self._last_heard, listening_since) + self.config.idle_timeout

    def check_idle(self, now: float, listening_since: float = float("-inf")) -> None:
        """Raise if nothing was heard for ``idle_timeout`` while listening."""
        if now >= self.idle_deadline(listening_since):
            raise ProtocolError(f"nothing heard for {self.config.idle_timeout:.0f}s")

    # ---- helpers ----------------------------------------------------------------------------

    def _chunk_vector(self) -> list[Have]:
        items = sorted(self.gossip.ours.items())
        size = self.config.vector_chunk
        chunks = [dict(items[i : i + size]) for i in range(0, len(items), size)] or [{}]
        split = self.config.split_catchup
        return [Have(c, more=i < len(chunks) - 1, split=split) for i, c in enumerate(chunks)]

    def _bound(self, size: int, what: str) -> None:
        if size > self.config.max_authors:
            raise ProtocolError(f"{what} names more than {self.config.max_authors} authors")
