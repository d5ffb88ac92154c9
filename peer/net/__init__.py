"""The network: LAN discovery, the secure stream, the wire format, the handshake, the sync
state machine (sans-IO), its Trio session driver, and the node that supervises them all."""

from peer.net._node import DEFAULT_DISCOVERY_ADDR as DEFAULT_DISCOVERY_ADDR
from peer.net._node import DEFAULT_DISCOVERY_PORT as DEFAULT_DISCOVERY_PORT
from peer.net._node import Node as Node
from peer.net._node import NodeConfig as NodeConfig
from peer.net._simulation import simulate as simulate
