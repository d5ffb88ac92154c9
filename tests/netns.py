"""Private network namespaces for tests about a real network (Linux, root only).

Every namespace, link and 10.x address a test makes lives inside namespaces it created:
nothing is attached to the host's interfaces, and everything is deleted afterwards. Tests
that need this skip, saying why, where namespaces cannot be made.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import uuid
from types import TracebackType
from typing import Any


@functools.cache
def netns_unavailable() -> str | None:
    """Why namespaces cannot be made here, or None if they can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if shutil.which("ip") is None:
        return "network namespaces need the `ip` command (iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or in CI)"
    probe = f"pcprobe{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Namespaces:
    """Namespaces made by one test, named uniquely, deleted on exit."""

    def __init__(self) -> None:
        self.prefix = f"pc{os.getpid() % 100000}{uuid.uuid4().hex[:4]}"
        self.names: list[str] = []
        self._links = 0

    def __enter__(self) -> Namespaces:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for name in reversed(self.names):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)

    def add(self, suffix: str) -> str:
        name = f"{self.prefix}{suffix}"
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        self.names.append(name)
        self.run(name, "ip", "link", "set", "lo", "up")
        return name

    def run(self, ns: str, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", ns, *command],
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def popen(self, ns: str, *command: str, **kwargs: Any) -> subprocess.Popen[str]:
        kwargs.setdefault("stdout", subprocess.PIPE)
        return subprocess.Popen(["ip", "netns", "exec", ns, *command], text=True, **kwargs)

    def command(self, ns: str) -> list[str]:
        """The prefix that runs a command inside ``ns``."""
        return ["ip", "netns", "exec", ns]

    def link(
        self,
        a: str,
        a_name: str,
        a_addr: str | None,
        b: str,
        b_name: str,
        b_addr: str | None,
    ) -> None:
        """A veth pair made inside namespace ``a`` with its other end moved into ``b``; each
        end gets its name, an address with its subnet's broadcast (if given), and is up."""
        self._links += 1
        temp = f"{self.prefix[-6:]}v{self._links}"
        self.run(a, "ip", "link", "add", a_name, "type", "veth", "peer", "name", temp)
        self.run(a, "ip", "link", "set", temp, "netns", b)
        self.run(b, "ip", "link", "set", temp, "name", b_name)
        for ns, name, addr in ((a, a_name, a_addr), (b, b_name, b_addr)):
            if addr is not None:
                self.run(ns, "ip", "addr", "add", addr, "brd", "+", "dev", name)
            self.run(ns, "ip", "link", "set", name, "up")

    def bridge(self, ns: str, name: str) -> None:
        self.run(ns, "ip", "link", "add", name, "type", "bridge")
        self.run(ns, "ip", "link", "set", name, "up")

    def attach(self, ns: str, port: str, bridge: str) -> None:
        self.run(ns, "ip", "link", "set", port, "master", bridge)
