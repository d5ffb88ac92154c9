"""The network: LAN discovery, the secure stream, the wire format, the handshake, the sync
state machine (sans-IO), its Trio session driver, and the node that supervises them all.

Layers, bottom up: the sans-IO core (``_wire`` codec, ``_sync`` and ``_gossip`` machines,
``_config``, ``_simulation``) imports no Trio, no store, no sockets and no Noise; the I/O
half (``_framed``, ``_secure_stream``, ``_handshake``, ``_discovery``, ``_session``,
``_node``) drives it. This face loads only the core when imported: ``Node`` (and with it
Trio, the store and Noise) is loaded on first use, so ``import peer.net._sync`` stays light
(``tests/test_layout.py`` checks it in a fresh interpreter). Depends on ``peer.log``,
``peer.errors``, ``peer.identity`` and ``storage``; never on ``peer.cli`` or ``peer.web``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from peer.net._config import DEFAULT_DISCOVERY_ADDR as DEFAULT_DISCOVERY_ADDR
from peer.net._config import DEFAULT_DISCOVERY_PORT as DEFAULT_DISCOVERY_PORT
from peer.net._config import NodeConfig as NodeConfig
from peer.net._reach import Finding as Finding
from peer.net._reach import Reach as Reach
from peer.net._reach import diagnose as diagnose
from peer.net._sync import SyncConfig as SyncConfig

if TYPE_CHECKING:  # what the lazy names below are, for mypy and for readers
    from peer.net._node import Node as Node
    from peer.net._probe import probe_reach as probe_reach
    from peer.net._simulation import simulate as simulate

#: Public names loaded on first use, and the module each comes from.
_LAZY = {
    "Node": "peer.net._node",
    "simulate": "peer.net._simulation",
    "probe_reach": "peer.net._probe",
}

__all__ = [
    "DEFAULT_DISCOVERY_ADDR",
    "DEFAULT_DISCOVERY_PORT",
    "Finding",
    "Node",
    "NodeConfig",
    "Reach",
    "SyncConfig",
    "diagnose",
    "probe_reach",
    "simulate",
]


def __getattr__(name: str) -> object:
    """Load an I/O part of the package when a caller first asks for it (PEP 562), so that
    importing the sans-IO core does not load Trio, the store and Noise beside it."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
