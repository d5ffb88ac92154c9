"""``peerclass demo`` plays its whole class session with real peers on loopback."""

from __future__ import annotations

import subprocess
import sys


def test_the_demo_plays_the_whole_session_and_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "peer", "demo"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for step in (
        "found each other",
        "exited with status 0",
        "caught up in",
        "problems and the submissions and feedback that exist are identical on all 3 peers",
        "is on Minho's peer",
        "0 forks",
        "# Feedback history of Jisoo",
        "Demo finished",
    ):
        assert step in out, f"missing {step!r} in:\n{out}"
    assert "is NOT" not in out
