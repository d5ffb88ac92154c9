"""Run a student's own Python solution against a problem's examples, locally.

Only ever called by ``peerclass submit`` on the file its user gives: code written by other
people is never run. Each example gets a fresh interpreter (``sys.executable -I``) in a
scratch directory, its input on stdin, and a time limit; output is compared after trimming
trailing whitespace on each line and at the end.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

from peer.log import CONTROL_RE, MAX_CHECK_DETAIL, Example

TIME_LIMIT = 5.0
DETAIL_LINES = 8
#: Read at most this much of what a solution prints (a runaway loop can print gigabytes).
MAX_OUTPUT = 1024 * 1024


@attrs.frozen
class CheckResult:
    passed: bool
    detail: str  # empty when passed; else the first lines of the difference or the error

    def to_body(self) -> dict[str, object]:
        return {"passed": self.passed, "detail": self.detail}


def normalise(text: str) -> str:
    """Text with trailing whitespace removed from every line and from the end."""
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def run_checks(
    solution: str, examples: Sequence[Example], time_limit: float = TIME_LIMIT
) -> list[CheckResult]:
    """Run ``solution`` once per example; one result per example, in order."""
    if not examples:
        return []
    with tempfile.TemporaryDirectory(prefix="peerclass-check-") as tmp:
        script = Path(tmp) / "solution.py"
        script.write_text(solution, encoding="utf-8")
        return [_run_one(script, example, time_limit) for example in examples]


def _run_one(script: Path, example: Example, time_limit: float) -> CheckResult:
    work = script.parent
    out_path, err_path = work / "stdout.txt", work / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        try:
            completed = subprocess.run(
                [sys.executable, "-I", str(script)],
                input=example.input.encode(),
                stdout=out,
                stderr=err,
                cwd=work,
                timeout=time_limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return CheckResult(False, f"time limit of {time_limit:g} s exceeded")
    got = _read_capped(out_path)
    if completed.returncode != 0:
        error = _read_capped(err_path).rstrip().splitlines()[1 - DETAIL_LINES :]
        return _failed([f"exited with status {completed.returncode}", *error])
    if normalise(got) == normalise(example.output):
        return CheckResult(True, "")
    diff = difflib.unified_diff(
        normalise(example.output).splitlines(),
        normalise(got).splitlines(),
        "expected",
        "got",
        n=1,
        lineterm="",
    )
    return _failed(list(diff))


def _read_capped(path: Path) -> str:
    with path.open("rb") as f:
        return f.read(MAX_OUTPUT).decode("utf-8", errors="replace")


def _failed(lines: list[str]) -> CheckResult:
    """A failure whose detail is the first lines given, printable and within the limit."""
    text = "\n".join(lines[:DETAIL_LINES])
    text = CONTROL_RE.sub("?", text)[:MAX_CHECK_DETAIL]
    return CheckResult(False, text or "output differs")
