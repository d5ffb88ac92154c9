"""Shared by the grading tests: skip what needs the sandbox where bubblewrap cannot work."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from peer.grading import sandbox_available

_REASON = sandbox_available()

needs_sandbox = pytest.mark.skipif(
    _REASON is not None, reason=f"no working sandbox here: {_REASON}"
)


def unique_process_name() -> str:
    """A process name (comm, at most 15 characters) no other run on this machine uses."""
    return f"pcbomb{secrets.token_hex(4)}"


def live_processes_named(name: str) -> int:
    """Processes on this machine named ``name`` that are still running (zombies left out).

    Counting by a name only this test's program takes keeps sandboxes others run on the same
    machine (their processes run as uid 65534 too) out of the count.
    """
    count = 0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().rstrip("\n") != name:
                continue
            state = (comm.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):  # gone meanwhile
            continue
        if state not in ("Z", "X"):
            count += 1
    return count
