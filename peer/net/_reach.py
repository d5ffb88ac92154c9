"""What a peer sees of its network, and what a student can do about it (``peerclass doctor``).

A class that finds nobody is the commonest failure on school Wi-Fi, and "it doesn't work"
is all a student can say about it. The running node notes what it observes (its addresses,
the members it hears and by which way, the addresses it could not reach, each member's clock
against ours) in a :class:`Reach`, and writes it to its store now and then; ``peerclass
doctor`` and the web UI's page read that (or a short probe of their own, in the same shape)
and :func:`diagnose` turns it into a few lines that each say what to do.

Sans-IO: plain values in, plain values out; the JSON document is the one shape every reader
shares.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Finding", "Reach", "diagnose"]

#: A member's clock this far from ours (ms) is worth telling: deadlines use witnessed time,
#: but a clock minutes off confuses people and, beyond two minutes, drops beacons.
SKEW_WARN_MS = 5_000
#: Skews are kept to this step (ms).
SKEW_STEP_MS = 100
#: Remembered addresses and members (the least recent go first).
MAX_NOTES = 256
#: A member heard by beacon within this long (seconds) counts as heard (beacons go every
#: second; a few may be lost on Wi-Fi).
HEARD_WINDOW = 10.0
#: The ways a member may say it hears us by (``Addrs.hears``); others are ignored.
WAYS = ("beacon", "mdns")


@attrs.define(eq=False)
class Reach:
    """The node's running notes on its network; ``doc`` is what it records."""

    beacons: str = "on"
    mdns: str = "off"
    listen: list[str] = attrs.field(factory=list)
    #: peer id -> (address, way: "beacon" | "mdns" | "exchange" | "invite", skew in ms or None)
    heard: dict[bytes, tuple[str, str, int | None]] = attrs.field(factory=dict)
    #: "host:port" -> (the error, the member it was for, or None)
    unreachable: dict[str, tuple[str, bytes | None]] = attrs.field(factory=dict)
    #: member -> its clock minus ours, from a record it signed and sent us itself (ms)
    skew: dict[bytes, int] = attrs.field(factory=dict)
    #: member -> way -> when (the caller's clock, seconds) we last heard it by that way
    way_at: dict[bytes, dict[str, float]] = attrs.field(factory=dict)
    #: member -> by which ways it says it hears us (its own word, over our session with it)
    hears_us: dict[bytes, dict[str, bool]] = attrs.field(factory=dict)

    def heard_from(
        self, peer_id: bytes, address: str, way: str, skew_ms: int | None = None
    ) -> None:
        """Note a member heard by ``way`` at ``address``; a beacon's skew is kept, to the
        nearest ``SKEW_STEP_MS`` (so the record the node writes changes with the network,
        not with every beacon's few milliseconds of jitter)."""
        if skew_ms is not None:
            skew_ms = round(skew_ms / SKEW_STEP_MS) * SKEW_STEP_MS
        old = self.heard.pop(peer_id, None)
        if skew_ms is None and old is not None and old[1] == way:
            skew_ms = old[2]
        _bounded(self.heard)
        self.heard[peer_id] = (address, way, skew_ms)

    def heard_way(self, peer_id: bytes, way: str, now: float, window: float) -> bool:
        """Note that ``peer_id`` was heard by ``way`` at ``now``; True if that is news (not
        heard that way within ``window``), when the member is worth telling at once."""
        ways = self.way_at.pop(peer_id, {})
        news = now - ways.get(way, -1e18) > window
        ways[way] = now
        _bounded(self.way_at)
        self.way_at[peer_id] = ways
        return news

    def hears(self, peer_id: bytes, listening: dict[str, float], now: float) -> dict[str, bool]:
        """What we tell ``peer_id`` (``Addrs.hears``): for each way we listen on (way ->
        window in seconds), whether we heard it that way within the window."""
        ways = self.way_at.get(peer_id, {})
        return {way: now - ways.get(way, -1e18) <= window for way, window in listening.items()}

    def heard_by(self, peer_id: bytes, hears: dict[str, bool]) -> None:
        """Note a member's word on which of our ways it hears (unknown ways dropped)."""
        self.hears_us.pop(peer_id, None)
        _bounded(self.hears_us)
        self.hears_us[peer_id] = {w: bool(v) for w, v in hears.items() if w in WAYS}

    def could_not_reach(self, address: str, error: str, peer_id: bytes | None) -> None:
        """Note a failed dial with its error: the doctor names the address and the member
        it was for, which is what a student needs to tell a firewall from a peer that is off."""
        self.unreachable.pop(address, None)
        _bounded(self.unreachable)
        self.unreachable[address] = (error, peer_id)

    def reached(self, address: str) -> None:
        """Forget an address's failure once a dial to it worked, so the doctor reports only
        what is still wrong."""
        self.unreachable.pop(address, None)

    def clock_of(self, peer_id: bytes, skew_ms: int) -> None:
        """Note a member's clock against ours (from a record it signed itself): a clock far
        off drops beacons and confuses deadlines, and the doctor says so."""
        skew_ms = round(skew_ms / SKEW_STEP_MS) * SKEW_STEP_MS
        self.skew.pop(peer_id, None)
        _bounded(self.skew)
        self.skew[peer_id] = skew_ms

    def doc(
        self,
        *,
        interfaces: list[dict[str, str]],
        connected: dict[bytes, str],
        refused_records: dict[str, int],
        at_ms: int,
    ) -> dict[str, Any]:
        """The JSON-able record (``peerclass doctor --json`` prints the same shape)."""
        return {
            "at": at_ms,
            "interfaces": interfaces,
            "listen": list(self.listen),
            "beacons": self.beacons,
            "mdns": self.mdns,
            "heard": [
                {"peer": p.hex(), "address": a, "via": way, "skew_ms": skew}
                for p, (a, way, skew) in self.heard.items()
            ],
            "unreachable": [
                {"address": a, "peer": None if p is None else p.hex(), "error": e}
                for a, (e, p) in self.unreachable.items()
            ],
            "connected": [
                {
                    "peer": p.hex(),
                    "address": a,
                    "skew_ms": self.skew.get(p),
                    "hears_us": self.hears_us.get(p),
                }
                for p, a in connected.items()
            ],
            "refused_records": dict(refused_records),
        }


def _bounded(table: dict[Any, Any]) -> None:
    if len(table) >= MAX_NOTES:
        table.pop(next(iter(table)))


@attrs.frozen
class Finding:
    """One line of the doctor's answer: ``level`` is "ok", "info" (a note, neither good
    nor bad), "warn" or "fail"."""

    level: str
    text: str


OVERLAY_HINT = (
    "use a wired or phone-hotspot network, run `peerclass run --peer HOST:PORT` with the "
    "instructor's address, or join an overlay network (README: Across networks)"
)


def diagnose(doc: dict[str, Any], name: Any = None) -> list[Finding]:
    """A few lines a student can act on, from a reach document (the node's, or the doctor's
    own probe). ``name(hex_id) -> str`` names members (short ids without it)."""

    def who(hex_id: str | None) -> str:
        if hex_id is None:
            return "a member"
        return str(name(hex_id)) if name is not None else hex_id[:8]

    found: list[Finding] = []
    interfaces = doc.get("interfaces", [])
    if interfaces:
        where = ", ".join(f"{i['name']} {i['address']}" for i in interfaces)
        found.append(Finding("ok", f"network: {where}; listening on {_listen(doc)}"))
    else:
        found.append(
            Finding(
                "fail" if not doc.get("connected") else "warn",
                "no network interface with a broadcast address is up: connect to the class's "
                f"network (listening on {_listen(doc)})",
            )
        )
    heard = doc.get("heard", [])
    connected = {c["peer"]: c for c in doc.get("connected", [])}
    ways = doc.get("beacons", "on"), doc.get("mdns", "off")
    by_way: dict[str, int] = {}
    for entry in heard:
        by_way[entry["via"]] = by_way.get(entry["via"], 0) + 1
    if heard:
        counts = ", ".join(f"{n} by {way}" for way, n in sorted(by_way.items()))
        found.append(Finding("ok", f"members heard: {counts}"))
    else:
        found.append(
            Finding(
                "warn",
                f"no member heard (beacons {ways[0]}, mDNS {ways[1]}): nobody else is running, "
                "or this network drops broadcast (client isolation); " + OVERLAY_HINT,
            )
        )
    isolated = [
        u
        for u in doc.get("unreachable", [])
        if u.get("peer") is not None and u["peer"] not in connected
    ]
    if isolated:
        names = ", ".join(f"{who(u['peer'])} at {u['address']}" for u in isolated[:3])
        found.append(
            Finding(
                "fail",
                f"members are heard but their TCP port cannot be reached ({names}): this "
                "network isolates its clients or a firewall blocks peerclass; " + OVERLAY_HINT,
            )
        )
    if connected:
        found.append(Finding("ok", f"connected to {len(connected)} member(s)"))
    elif doc.get("reachable"):
        count = len(doc["reachable"])
        found.append(Finding("ok", f"reached the TCP port of {count} member address(es)"))
    elif heard or isolated:
        found.append(Finding("warn", "connected to no member yet"))
    found += _heard_back(doc, connected, who)
    skews = [
        (who(p), c["skew_ms"]) for p, c in connected.items() if c.get("skew_ms") is not None
    ] + [
        (who(h["peer"]), h["skew_ms"])
        for h in heard
        if h.get("skew_ms") is not None and h["peer"] not in connected
    ]
    off = [(n, s) for n, s in skews if abs(s) > SKEW_WARN_MS]
    if off:
        text = ", ".join(f"{n} {s / 1000:+.0f}s" for n, s in off[:5])
        found.append(
            Finding(
                "warn",
                f"clocks differ from ours ({text}): set the clocks to network time "
                "(Settings > Date & Time > set automatically)",
            )
        )
    elif skews:
        worst = max(abs(s) for _, s in skews)
        found.append(Finding("ok", f"clocks agree with {len(skews)} member(s) within {worst} ms"))
    refused = doc.get("refused_records") or {}
    if refused:
        total = sum(refused.values())
        found.append(
            Finding("warn", f"{total} address record(s) refused (forged, replayed or stale)")
        )
    return found


ONE_WAY_HINT = (
    "give classmates this peer's address (`peerclass run --peer HOST:PORT` on theirs), keep "
    "connected to a member so peer exchange tells the rest where we are, or use a wired or "
    "phone-hotspot network"
)
_WAY_WORDS = {"beacon": ("beacons", "UDP broadcast"), "mdns": ("mDNS announcements", "multicast")}


def _heard_back(
    doc: dict[str, Any], connected: dict[str, dict[str, Any]], who: Any
) -> list[Finding]:
    """Whether other members hear *us* (each connected member says so in its ``addrs``
    frame): a member we reach that does not hear our beacons means broadcast passes one way
    only on this network."""
    if doc.get("probe"):
        return [
            Finding(
                "info",
                "whether members hear this peer's beacons is known while `peerclass run` "
                "runs (the members it connects to say so); this probe sends none",
            )
        ]
    found: list[Finding] = []
    state = {"beacon": doc.get("beacons", "on"), "mdns": doc.get("mdns", "off")}
    for way, (words, carrier) in _WAY_WORDS.items():
        if state[way] != "on" or not connected:
            continue
        said = {
            p: c["hears_us"][way]
            for p, c in connected.items()
            if isinstance(c.get("hears_us"), dict) and way in c["hears_us"]
        }
        hearing = [p for p, yes in said.items() if yes]
        if not said:
            found.append(
                Finding(
                    "info",
                    f"whether members hear our {words} is not known yet: no connected member "
                    "has said (just connected, an older peerclass, or it does not listen by "
                    "that way)",
                )
            )
        elif hearing:
            found.append(
                Finding(
                    "ok",
                    f"our {words} come back: {len(hearing)} of {len(said)} connected "
                    "member(s) hear them",
                )
            )
        else:
            names = ", ".join(who(p) for p in list(said)[:3])
            found.append(
                Finding(
                    "warn",
                    f"our {words} are not heard by the member(s) we reach ({names}): this "
                    f"network passes {carrier} one way only (an access point isolating its "
                    "clients often drops what a client sends, or a firewall here blocks it), "
                    "so members find this peer only through those it reaches; " + ONE_WAY_HINT,
                )
            )
    return found


def _listen(doc: dict[str, Any]) -> str:
    listen = doc.get("listen") or []
    return ", ".join(listen) if listen else "no port (the peer is not running)"
