"""The IPv4 broadcast address of every network interface that is up, read from the kernel.

``255.255.255.255`` leaves by the default route only (and not at all on a LAN without one),
so discovery sends to each interface's own subnet broadcast instead. Read with the
SIOCGIFFLAGS / SIOCGIFBRDADDR ioctls (Linux and macOS); elsewhere nothing can be read and the
caller falls back to the limited broadcast address.
"""

from __future__ import annotations

import socket
import struct
import sys

import attrs

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8

#: (SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFBRDADDR, sizeof(struct ifreq)) per platform. In both
#: layouts the flags are a short at offset 16 and an IPv4 address sits at bytes 20..24.
_IOCTLS = {
    "linux": (0x8913, 0x8915, 0x8919, 40),
    "darwin": (0xC0206911, 0xC0206921, 0xC0206923, 32),
}


@attrs.frozen
class Interface:
    """An interface discovery can broadcast on: its subnet's broadcast address is where our
    beacons reach the LAN (``255.255.255.255`` would leave by the default route only)."""

    name: str
    address: str
    broadcast: str


def can_read_interfaces() -> bool:
    """Whether this platform lets us list interfaces (else discovery falls back to the
    limited broadcast address and says so)."""
    return fcntl is not None and sys.platform in _IOCTLS and hasattr(socket, "if_nameindex")


def broadcast_interfaces() -> list[Interface]:
    """Every interface that is up, not loopback, and has an IPv4 broadcast address (its
    primary address's), sorted by name. Empty where interfaces cannot be read."""
    if not can_read_interfaces():
        return []
    get_flags, get_addr, get_brd, size = _IOCTLS[sys.platform]
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            names = [name for _index, name in socket.if_nameindex()]
        except OSError:
            return []
        for name in names:
            request = struct.pack(f"{size}s", name.encode()[:15])
            try:
                flags = struct.unpack_from("H", fcntl.ioctl(sock, get_flags, request), 16)[0]
                if not flags & IFF_UP or not flags & IFF_BROADCAST or flags & IFF_LOOPBACK:
                    continue
                address = socket.inet_ntoa(fcntl.ioctl(sock, get_addr, request)[20:24])
                broadcast = socket.inet_ntoa(fcntl.ioctl(sock, get_brd, request)[20:24])
            except OSError:  # gone meanwhile, or no IPv4 address
                continue
            if broadcast != "0.0.0.0":
                found.append(Interface(name, address, broadcast))
    return sorted(found, key=lambda i: i.name)
