"""Python 3: run as ``python3 main.py``, no compile step.

In the sandbox the interpreter is the system's (``sandbox_python``: the sandbox sees only
system directories); outside it, for a student's own code on their own computer, it is ours
in isolated mode (``-I``: no user site-packages, no current directory on the path).
"""

from __future__ import annotations

import sys

from peer.grading._language import LanguageSpec
from peer.grading._sandbox import SandboxUnavailable, sandbox_python


def _run(sandboxed: bool) -> tuple[str, ...]:
    if not sandboxed:
        return (sys.executable, "-I", "main.py")
    python = sandbox_python()
    if python is None:
        raise SandboxUnavailable(
            "no Python for the sandbox; install python3: apt-get install python3"
        )
    return (python, "main.py")


LANGUAGE = LanguageSpec(
    name="python",
    display_name="Python",
    suffixes=(".py",),
    source_file="main.py",
    run=_run,
    order=10,
    lexer="python",
)
