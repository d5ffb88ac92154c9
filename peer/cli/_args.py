"""Parsers for command-line values and the environment variables that stand in for flags."""

from __future__ import annotations

import argparse
import ipaddress
import os
from pathlib import Path

import platformdirs

ENV_HOME = "PEERCLASS_HOME"
ENV_DISCOVERY_ADDR = "PEERCLASS_DISCOVERY_ADDR"
ENV_DISCOVERY_PORT = "PEERCLASS_DISCOVERY_PORT"


def host_port(text: str) -> tuple[str, int]:
    """Parse HOST:PORT (IPv6 as [ADDR]:PORT)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), tcp_port(port, allow_zero=False)


def tcp_port(text: str, *, allow_zero: bool = True) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range")
    return port


def ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None


def default_data_dir() -> Path:
    home = os.environ.get(ENV_HOME)
    return Path(home) if home else Path(platformdirs.user_data_dir("peerclass"))
