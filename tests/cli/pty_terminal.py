"""A ``peerclass run`` on a pseudo-terminal, as a person at a console sees it: what it draws,
both as text with the escape codes removed (``screen``: everything ever drawn, in order) and as
the rendered screen of a VT100 emulator (``rows``: where each line really ends up, after the
prompt redraws itself), and what is typed into it."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from pathlib import Path

import attrs
import pyte

from peer.testing import LOOPBACK_BROADCAST, peerclass_command, wait_until

ROWS, COLUMNS = 200, 100  # tall, so nothing of a test's session scrolls off
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")


@attrs.define(eq=False)
class Terminal:
    """A process on a pseudo-terminal, and everything it has drawn (escape codes removed)."""

    process: subprocess.Popen[bytes]
    master: int
    raw: bytearray = attrs.field(factory=bytearray)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.raw.extend(chunk)

    def rows(self) -> list[str]:
        """The rendered screen's non-empty rows, as the person sees them now."""
        screen = pyte.Screen(COLUMNS, ROWS)
        pyte.ByteStream(screen).feed(bytes(self.raw))
        return [row.rstrip() for row in screen.display if row.strip()]

    @property
    def screen(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def lines(self, after: int = 0) -> list[str]:
        """The screen's lines from character ``after`` on."""
        return self.screen[after:].split("\n")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait_for(self, text: str, after: int = 0, timeout: float = 30) -> int:
        """Wait until ``text`` is drawn after character ``after``; where it ends."""
        try:
            wait_until(lambda: text in self.screen[after:], timeout, f"{text!r} on the terminal")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; the screen ends with {self.screen[-800:]!r}") from None
        return self.screen.index(text, after) + len(text)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self.master)


def open_terminal(
    data_dir: Path, discovery_port: int, *args: str, env: dict[str, str] | None = None
) -> Terminal:
    """``peerclass run`` (no web UI) on ``data_dir``, on a pty; ``args`` are more flags."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    environment = {
        **os.environ,
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # a pty that answers no cursor-position requests
        "PEERCLASS_DISCOVERY_ADDR": LOOPBACK_BROADCAST,
        "LANGUAGE": "en",  # the console's words in English unless a test asks otherwise
        **(env or {}),
    }
    process = subprocess.Popen(
        [
            *peerclass_command(data_dir, "run", "--bind", "127.0.0.1", "--no-ui"),
            "--discovery-port",
            str(discovery_port),
            *args,
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environment,
        start_new_session=True,
    )
    os.close(slave)
    terminal = Terminal(process, master)
    threading.Thread(target=terminal._read, daemon=True).start()
    return terminal
