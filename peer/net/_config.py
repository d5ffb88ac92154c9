"""How one running peer is configured: where it listens, whom it finds, how many links it
keeps, and every timing of the node and its sessions, in one frozen value.

Configuration, not module constants: a test or a benchmark that needs a shorter stranger
grace or handshake deadline passes a ``NodeConfig`` with that field, as trio's
``serve_listeners`` takes its handler and limits as arguments, instead of patching a module
that every other test shares. The defaults are what a classroom uses. Sans-IO: importing this
loads no Trio, no store and no sockets.
"""

from __future__ import annotations

import ipaddress

import attrs

from peer.net._sync import SyncConfig
from peer.net._wire import BATCH_EVENTS

#: None: the broadcast address of every interface that is up (loopback only when asked).
DEFAULT_DISCOVERY_ADDR: str | None = None
DEFAULT_DISCOVERY_PORT = 47474
#: A connection whose Noise handshake and ``Hello`` have not finished by then is dropped, so
#: a socket that never speaks cannot hold a handshake slot for long.
HANDSHAKE_TIMEOUT = 10.0
#: A running node catches up by announcement, grafting each author from one link; a claim on
#: an author holds this long after its last batch arrived (issue 21: a late joiner is served
#: once, and judged by progress).
GRAFT_CLAIM = 3.0


@attrs.frozen
class NodeConfig:
    """Everything a :class:`~peer.net.Node` and its sessions can be told, with the defaults a
    classroom uses (times in seconds).

    Frozen, so a running node's settings cannot change under its tasks; one value, so a new
    setting is one field here and its use, and callers (the command line, tests, benchmarks)
    name only what they change. The per-connection protocol timings, keep-alive and idle
    timeout among them, are the sans-IO machine's own :class:`SyncConfig`, held in ``sync``.
    """

    # ---- where it listens and whom it finds ----
    bind: str = "0.0.0.0"
    port: int = 0
    #: Every way of finding the class at once (``--no-discovery``); ``beacons`` and ``mdns``
    #: turn off one each (``--no-beacons``, ``--no-mdns``). The invite's addresses, ``--peer``
    #: and peer exchange work whatever these say.
    discovery: bool = True
    beacons: bool = True
    #: DNS-SD over mDNS; never used while ``discovery_addr`` is a loopback address (tests,
    #: demo, benches), so nothing leaves the host's own interfaces there.
    mdns: bool = True
    #: One broadcast address; None sends to every up interface's broadcast address.
    discovery_addr: str | None = DEFAULT_DISCOVERY_ADDR
    discovery_port: int = DEFAULT_DISCOVERY_PORT
    static_peers: tuple[tuple[str, int], ...] = ()

    # ---- how many links ----
    #: Connections a peer accepts in all, and how many discovered peers it dials itself. Each
    #: peer dials a random few of those it hears, so a class forms a random graph of degree
    #: about twice ``dial_target`` (connected with high probability), not a full mesh of
    #: n - 1 links each; gossip (Plumtree) and anti-entropy reach everyone over it, and a lost
    #: link is replaced by dialing another peer from the discovery table (the passive view).
    max_connections: int = 32
    dial_target: int = 6
    #: Inbound connections that may be in their handshake at once (each holds a socket), in
    #: all and from any one address: idle sockets from one host cannot lock everyone else out.
    max_handshaking: int = 64
    max_handshaking_per_source: int = 8

    # ---- dialing ----
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    #: The peer with the larger id waits this long for the smaller one to dial it first, so
    #: that two peers that discover each other rarely both dial.
    dial_defer: float = 2.0
    #: A failed or ended dial to one address waits this long before the next, doubling (with
    #: jitter) from ``backoff_min`` up to ``backoff_max``; a session that ran resets it.
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    #: Once an address has refused us (a wrong class, our removal from its roster, a goodbye
    #: before any sync), its delay doubles up to this instead: at most one try a minute
    #: after repeated refusals (``peer.net._redial``).
    refused_backoff_max: float = 60.0
    #: The dialer looks at the discovery table at least this often (and whenever it changes).
    dial_recheck_interval: float = 0.5
    #: How often a random connected peer is asked to compare version vectors, repairing
    #: pushes that were lost (jittered by +-20 %).
    anti_entropy_interval: float = 10.0

    # ---- peer exchange and what the node records for the doctor ----
    #: Each session is sent our signed address record and those of the members we are
    #: connected to this often, and at most every ``exchange_min_interval`` when the set of
    #: sessions changes (a new link learns the class at once, a churning one costs little).
    exchange_interval: float = 30.0
    exchange_min_interval: float = 2.0
    #: How often the node writes what it sees of the network (beacons heard, addresses
    #: unreachable, clock skew) to its store, for ``peerclass doctor`` and the UI's page.
    reach_interval: float = 5.0
    #: The mDNS service's TXT (a beacon) is signed afresh this often: within the two
    #: minutes a beacon stays acceptable.
    mdns_refresh: float = 60.0

    # ---- strangers and twins ----
    #: A connected identity whose log we do not hold (so not a member we know) is closed
    #: after ``stranger_grace``, and turned away for ``stranger_cooldown`` after that; the
    #: sessions are looked at every ``stranger_check_interval``.
    stranger_grace: float = 30.0
    stranger_cooldown: float = 60.0
    stranger_check_interval: float = 5.0
    #: How long a twin of our identity (a copied data dir) blocks authoring after it was last
    #: seen; the block is renewed at most every ``twin_renew_interval`` while it is seen.
    twin_block: int = 600
    twin_renew_interval: float = 30.0

    # ---- shutdown and logging ----
    #: On shutdown, connected peers get this long to receive our goodbye before we cancel.
    goodbye_grace: float = 2.0
    #: Refused connections and similar repeated conditions are logged at most this often.
    summary_interval: float = 60.0

    # ---- each session ----
    #: A slice of a frame (``_framed.SEND_SLICE``) the other side does not take within this
    #: long closes the connection: a slow reader that keeps taking data stays (issue 21).
    send_timeout: float = 30.0
    #: The goodbye is sent within this long, or not at all.
    bye_timeout: float = 2.0
    #: Events per ``events`` frame and per store read when serving a range or catching up:
    #: large enough to amortise the signature check, small enough to keep a frame under
    #: ``MAX_FRAME`` for ordinary events (frames are split by size as well).
    batch_events: int = BATCH_EVENTS
    #: The sync machine's own timings and caps: keep-alive (``ping_interval``), idle timeout,
    #: graft and announcement delays, the full-serve throttle.
    sync: SyncConfig = attrs.field(
        factory=lambda: SyncConfig(split_catchup=True, graft_claim=GRAFT_CLAIM)
    )

    def mdns_off_reason(self) -> str | None:
        """Why mDNS stays off, or None to use it. Off whenever discovery or the listener
        points at loopback (tests, the demo and benches do): mDNS would send multicast from
        the host's real interfaces, which nothing on loopback may do."""
        if not (self.discovery and self.mdns):
            return "off (--no-mdns or --no-discovery)"
        for address in (self.discovery_addr, self.bind):
            if address is not None and _is_loopback(address):
                return "off (discovery is on loopback)"
        return None


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"
