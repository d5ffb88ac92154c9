"""Several ``peerclass run`` processes on loopback: used by the demo, tests and benchmarks.

Each peer is a real process with its own data dir; discovery beacons go to 127.255.255.255
only, so nothing here ever leaves the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

LOOPBACK_BROADCAST = "127.255.255.255"


def peerclass_command(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "peer", "--data-dir", str(data_dir), *args]


def cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one ``peerclass`` command to completion and capture its output."""
    return subprocess.run(
        peerclass_command(data_dir, *args),
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
        env=_env(),
    )


def cli_json(data_dir: Path, *args: str) -> Any:
    return json.loads(cli(data_dir, *args, "--json").stdout)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PEERCLASS_DISCOVERY_ADDR"] = LOOPBACK_BROADCAST
    env.pop("PEERCLASS_HOME", None)
    return env


@attrs.define(eq=False)
class PeerProcess:
    """One running ``peerclass run``; ``lines`` collects what it prints."""

    data_dir: Path
    discovery_port: int
    extra_args: Sequence[str] = ()
    #: What to run instead of ``python -m peer`` (e.g. a bench's counting wrapper), and the
    #: file descriptor of its stdin (a pty makes its console read typed lines).
    launcher: Sequence[str] | None = None
    stdin: int | None = None
    #: A network namespace (made by the test) to run in: the peer then listens on every
    #: address there and broadcasts on every interface there, as on a real LAN.
    netns: str | None = None
    process: subprocess.Popen[str] | None = None
    port: int | None = None
    lines: list[str] = attrs.field(factory=list)
    _listening: threading.Event = attrs.field(factory=threading.Event)

    def start(self, timeout: float = 20.0) -> PeerProcess:
        """Start the peer and wait for its ``listening on`` line."""
        self._listening.clear()
        log = (self.data_dir / "run.log").open("a")
        prefix = peerclass_command(self.data_dir)
        if self.launcher is not None:
            prefix = [*self.launcher, "--data-dir", str(self.data_dir)]
        where = ["--bind", "127.0.0.1", "--discovery-addr", LOOPBACK_BROADCAST]
        env = _env()
        if self.netns is not None:
            prefix = ["ip", "netns", "exec", self.netns, *prefix]
            where = []
            del env["PEERCLASS_DISCOVERY_ADDR"]
        self.process = subprocess.Popen(
            [
                *prefix,
                "run",
                *where,
                "--discovery-port",
                str(self.discovery_port),
                *self.extra_args,
            ],
            stdin=subprocess.DEVNULL if self.stdin is None else self.stdin,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
        log.close()
        threading.Thread(target=self._read_stdout, args=(self.process,), daemon=True).start()
        if not self._listening.wait(timeout):
            self.kill()
            raise RuntimeError(f"peer in {self.data_dir} did not start listening in {timeout}s")
        return self

    def _read_stdout(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                self._listening.set()

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; returns the exit status."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.process = None

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def heads(data_dir: Path) -> dict[str, int]:
    """The version vector of a data dir (read directly, whether or not the peer runs)."""
    from storage import Store

    store = Store.open(data_dir)
    try:
        return {a.hex(): s for a, s in store.heads().items()}
    finally:
        store.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; raise TimeoutError naming ``what``. Returns seconds."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def converged(data_dirs: Sequence[Path]) -> bool:
    vectors = [heads(d) for d in data_dirs]
    return all(v == vectors[0] for v in vectors[1:])


def wait_converged(data_dirs: Sequence[Path], timeout: float = 30.0) -> float:
    return wait_until(lambda: converged(data_dirs), timeout, "the peers to converge")


def free_udp_port() -> int:
    """A UDP port nobody on this host is bound to right now (for a private discovery port)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
