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
                {"peer": p.hex(), "address": a, "skew_ms": self.skew.get(p)}
                for p, a in connected.items()
            ],
            "refused_records": dict(refused_records),
        }


def _bounded(table: dict[Any, Any]) -> None:
    if len(table) >= MAX_NOTES:
        table.pop(next(iter(table)))


@attrs.frozen
class Finding:
    """One line of the doctor's answer: ``level`` is "ok", "warn" or "fail"."""

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


def _listen(doc: dict[str, Any]) -> str:
    listen = doc.get("listen") or []
    return ", ".join(listen) if listen else "no port (the peer is not running)"
