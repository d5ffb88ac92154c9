"""When the dialer may try an address again: exponential backoff per address, and a longer
cap once the other side has refused us.

A peer that is down is worth trying again soon (``backoff_max``, 30 s by default); a peer that
answers and refuses (a wrong class, our removal from its roster, a goodbye before any sync)
will most likely refuse again, so after repeated refusals the dialer tries it at most once a
``refused_backoff_max`` (a minute by default) instead of hammering it every second. A
connection that ran a session resets the address. Sans-IO: times are passed in, so the
rule is tested on a movable clock.
"""

from __future__ import annotations

import random
from typing import Literal

import attrs

from peer.net._config import NodeConfig

__all__ = ["Outcome", "Redial"]

Address = tuple[str, int]
#: How a dial ended: a session ran; the other side refused us; it could not be reached.
Outcome = Literal["ran", "refused", "unreachable"]


@attrs.define
class Redial:
    """Per-address backoff. ``due`` says whether to dial now; ``attempt`` records a dial
    (and when the next may start); ``ended`` records how it ended."""

    backoff_min: float
    backoff_max: float
    refused_backoff_max: float
    #: The factor a delay is stretched by (at least 1, so a cap is never undercut).
    jitter: float = 0.2
    _next: dict[Address, float] = attrs.field(factory=dict)
    _delay: dict[Address, float] = attrs.field(factory=dict)
    _refused: set[Address] = attrs.field(factory=set)

    @classmethod
    def from_config(cls, config: NodeConfig) -> Redial:
        """The node's backoff, from its configuration (one place for the timings)."""
        return cls(config.backoff_min, config.backoff_max, config.refused_backoff_max)

    def due(self, addr: Address, now: float) -> bool:
        """Whether ``addr`` may be dialed at ``now``."""
        return self._next.get(addr, float("-inf")) <= now

    def attempt(self, addr: Address, now: float) -> float:
        """Record a dial of ``addr`` at ``now``; returns how long until the next may start:
        double the last delay, capped by ``refused_backoff_max`` after a refusal and by
        ``backoff_max`` otherwise, stretched by up to ``jitter``."""
        cap = self.refused_backoff_max if addr in self._refused else self.backoff_max
        delay = min(cap, self._delay.get(addr, self.backoff_min / 2) * 2)
        self._delay[addr] = delay
        stretched = delay * random.uniform(1.0, 1.0 + self.jitter)
        self._next[addr] = now + stretched
        return stretched

    def ended(self, addr: Address, outcome: Outcome) -> None:
        """Record how a dial of ``addr`` ended: a session that ran resets it."""
        if outcome == "ran":
            self._next.pop(addr, None)
            self._delay.pop(addr, None)
            self._refused.discard(addr)
        elif outcome == "refused":
            self._refused.add(addr)
